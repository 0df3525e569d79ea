#!/usr/bin/env python3
"""PyTorch reference for `prism bench ops --device cuda`: FP32 SGEMM GFLOP/s (TF32 off) for the same sizes, and the
same fmnist-cnn conv layers (3x3, pad 1, batch 64) forward+backward in milliseconds (cuDNN, TF32 off).
Median of repeated runs timed with CUDA events, after a warm-up. Prints one JSON object. Used by
tests/gpu/run_device_checks.sh; the product never needs Python."""
import json
import sys

try:
    import torch
except Exception as e:  # no PyTorch on this machine: say so in the JSON, the caller reports it
    print(json.dumps({"error": f"no torch: {e}"}))
    sys.exit(0)

if not torch.cuda.is_available():
    print(json.dumps({"error": "torch sees no CUDA device"}))
    sys.exit(0)

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.backends.cudnn.benchmark = True
dev = torch.device("cuda")


def median_ms(fn, min_reps=10, min_ms=500.0):
    fn()
    torch.cuda.synchronize()
    times, total = [], 0.0
    while len(times) < min_reps or (total < min_ms and len(times) < 200):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        t = start.elapsed_time(end)
        times.append(t)
        total += t
    times.sort()
    return times[len(times) // 2]


out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "sgemm_gflops": {},
       "conv_forward_backward_batch64": {}}
g = torch.Generator(device=dev).manual_seed(0)
for n in (256, 512, 1024, 4096):
    a = torch.rand(n, n, device=dev, generator=g) * 2 - 1
    b = torch.rand(n, n, device=dev, generator=g) * 2 - 1
    c = torch.empty(n, n, device=dev)
    ms = median_ms(lambda: torch.mm(a, b, out=c))
    out["sgemm_gflops"][str(n)] = 2.0 * n ** 3 / (ms * 1e-3) * 1e-9

# The layers and the timed step of `prism bench ops` (src/cli/bench.cpp): sum(conv2d(x, w, b)).backward().
for name, c_in, hw, c_out in (("conv1 1->32 @28x28", 1, 28, 32), ("conv2 32->64 @14x14", 32, 14, 64),
                              ("conv3 64->128 @7x7", 64, 7, 128)):
    conv = torch.nn.Conv2d(c_in, c_out, 3, padding=1).to(dev)
    x = (torch.rand(64, c_in, hw, hw, device=dev, generator=g) * 2 - 1).requires_grad_()

    def forward_backward():
        x.grad = None
        conv.weight.grad = None
        conv.bias.grad = None
        conv(x).sum().backward()

    out["conv_forward_backward_batch64"][name] = median_ms(forward_backward)

print(json.dumps(out, indent=2))
