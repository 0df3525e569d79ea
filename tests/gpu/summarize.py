#!/usr/bin/env python3
"""Summary table of tests/gpu/run_device_checks.sh, from the files it wrote under OUT: cuda_tests.log (the [cuda]
tests' output with its CUDA-EXACT / CUDA-FAST / CUDA-CHECK lines), check.json, bench_cuda.json, bench_cpu.json,
bench_steps_cuda.json ({"fmnist": prism bench train, "resnet": prism bench resnet}), bench_torch.json.
Usage: summarize.py OUT GPU_NAME CUDA_TESTS_EXIT CHECK_EXIT TORCH_EXIT SECONDS. Missing files are reported, not fatal."""
import json, re, sys, os
out, gpu, cuda_status, check_status, torch_status, seconds = sys.argv[1:]
def fmt(v, spec):
    return "-" if v is None else format(v, spec)
def load(name):
    try:
        with open(os.path.join(out, name)) as f: return json.load(f)
    except Exception as e: return {"error": str(e)}
try:
    log = open(os.path.join(out, "cuda_tests.log")).read()
except OSError as e:
    log = f"(no cuda_tests.log: {e})"
print(f"==== prism device checks on {gpu} ({seconds} s) ====")


def section(name, body):
    """Runs one part of the table; a malformed input is reported, not fatal."""
    try:
        body()
    except Exception as e:  # noqa: BLE001 - the table must still print
        print(f"{name:<16}: could not summarise ({type(e).__name__}: {e})")


def tests_part():
    m = re.search(r"CUDA-EXACT summary: (.*)", log); print("exact kernels   :", m.group(1) if m else "NO SUMMARY (see cuda_tests.log)")
    m = re.search(r"CUDA-FAST summary: (.*)", log); print("fast kernels    :", m.group(1) if m else "NO SUMMARY")
    for line in re.findall(r"CUDA-(?:EXACT|FAST) FAIL .*", log)[:8]: print("  ", line[:160])
    m = re.findall(r"test cases: .*|All tests passed.*", log)
    print("[cuda] tests    :", "; ".join(m) if m else "no Catch2 summary", f"(exit {cuda_status})")
    for name in sorted(set(re.findall(r"^[0-9.]+ s: (.*)$", log, re.M)))[:12]: print("   ran:", name[:100])
    for line in re.findall(r"^CUDA-CHECK .*$", log, re.M): print("backbone check  :", line[len("CUDA-CHECK "):][:140])
    fails = re.findall(r"^(.*FAILED.*)$", log, re.M)
    for line in fails[:6]: print("  ", line[:160])


def check_part():
    c = load("check.json")
    if "result" in c:
        extra = f", first mismatch {c['first_mismatch']}" if c["result"] != "match" else ""
        print(f"prism check {c['steps']:<3} : {c['result']} ({c['tensors_per_step']} tensors/step; {c['reference']}"
              f" {c['seconds']['reference']:.2f} s, {c['target']} {c['seconds']['target']:.2f} s){extra}")
    else:
        print(f"prism check     : FAILED (exit {check_status}) {c.get('error', '')}")


def bench_part():
    bc, bp, bt = load("bench_cuda.json"), load("bench_cpu.json"), load("bench_torch.json")
    if "error" in bc: print("bench cuda      : FAILED:", bc["error"][:120])
    g, t = bc.get("sgemm_gflops", {}), bt.get("sgemm_gflops", {})
    print("SGEMM GFLOP/s   :    n    exact  fast(cuBLAS)  torch-fp32  exact/fast   cpu exact/fast")
    for n in sorted(g, key=int):
        cpu = bp.get("sgemm_gflops", {}).get(n)
        cpus = f"{cpu['exact']:7.0f}/{cpu['fast']:.0f}" if cpu else "      -"
        tv = t.get(n)
        print(f"                 {n:>5} {g[n]['exact']:8.0f} {g[n]['fast']:13.0f} {fmt(tv, '11.0f'):>11} "
              f"{g[n]['ratio_exact_over_fast']:11.2f}   {cpus}")
    cl, tl = bc.get("conv_forward_backward_batch64", {}), bt.get("conv_forward_backward_batch64", {})
    print("conv fwd+bwd ms :  layer                  exact     fast    torch  (batch 64, sum().backward())")
    for k in cl:
        tv = tl.get(k)
        e, f = cl[k]["exact"]["all_sum_loss_ms"], cl[k]["fast"]["all_sum_loss_ms"]
        print(f"                 {k:<22} {e:8.3f} {f:8.3f} {fmt(tv, '8.3f'):>8}")
    if "error" in bt: print("torch bench     : unavailable:", bt["error"], f"(exit {torch_status})")
    steps = load("bench_steps_cuda.json")
    tr = steps.get("fmnist") or {"error": steps.get("error", "prism bench train printed nothing")}
    if "images_per_second" in tr:
        ips, pt = tr["images_per_second"], tr.get("pytorch") or {}
        ratio = tr.get("ratio_vs_pytorch") or {}
        print(f"train step img/s: fast {ips['fast']:.0f}, exact {ips['exact']:.0f} (exact/fast {ips['exact'] / ips['fast']:.2f});"
              f" pytorch {fmt(pt.get('images_per_second'), '.0f')} -> ratio fast {fmt(ratio.get('fast'), '.2f')},"
              f" exact {fmt(ratio.get('exact'), '.2f')}")
        if tr.get("pytorch_error"): print("   pytorch:", tr["pytorch_error"][:150])
    else:
        print("train step      : FAILED:", str(tr.get("error", tr))[:150])
    rn = steps.get("resnet") or {"error": steps.get("error", "prism bench resnet printed nothing")}
    if "training" in rn:
        pt = rn.get("pytorch") or {}
        for what in ("inference", "training"):
            e, ratio = rn[what], rn[what].get("ratio_vs_pytorch") or {}
            print(f"{e['model'] + ' ' + what:<16}: img/s fast {e['images_per_second']['fast']:.0f}, exact"
                  f" {e['images_per_second']['exact']:.0f}; pytorch {fmt((pt.get(what) or {}).get('images_per_second'), '.0f')}"
                  f" (cuDNN {pt.get('cudnn')}) -> ratio fast {fmt(ratio.get('fast'), '.2f')}, exact {fmt(ratio.get('exact'), '.2f')}")
        if rn.get("pytorch_error"): print("   pytorch:", rn["pytorch_error"][:150])
    else:
        print("resnet bench    : FAILED:", str(rn.get("error", rn))[:150])


section("[cuda] tests", tests_part)
section("prism check", check_part)
section("benchmarks", bench_part)
