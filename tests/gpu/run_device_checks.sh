#!/usr/bin/env bash
# The prepared GPU check of the CUDA backend, for a lent machine with an NVIDIA GPU, the CUDA toolkit, CMake, g++ and
# python3 (+ PyTorch) but none of our Debian packages and no network. It
#   1. unpacks the packages of .debs/ (made by tests/gpu/fetch_deps.sh) under /tmp with dpkg -x (never into /;
#      ar + tar where there is no dpkg),
#   2. configures (sm_90 by default, -march=native) and builds prism + prism_tests against them,
#   3. runs the [cuda] tests (tests/test_cuda.cpp: every case of the kernel case table bit for bit vs the CPU in
#      exact mode and within its budget in fast mode, a conv net's forward/backward, the allocator, prism check on
#      the default config and on resnet18 / resnet50 / bninception), prism check (the trainer's step on the default config)
#      --steps 50 --json, prism bench ops --device cuda/cpu --json, prism bench train and prism bench resnet
#      (resnet50 training step) --device cuda --json against PyTorch on the same GPU, and a PyTorch reference
#      benchmark,
#   4. prints a short table last. Logs and JSON go to $OUT (at most 8 files).
# Every step fails loudly: the script stops at the first failed step, prints that step's log tail and exits non-zero.
# Environment: OUT (log folder), PRISM_CUDA_ARCH (90), PRISM_JOBS (16), PRISM_DEVICE_STOP_AFTER (deps | configure |
# build: stop early, to test the script on a machine without a GPU), PRISM_DEPS_PREFIX, PRISM_DEVICE_BUILD.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${OUT:-/tmp/prism-device-out}
PREFIX=${PRISM_DEPS_PREFIX:-/tmp/prism-deps}
BUILD=${PRISM_DEVICE_BUILD:-/tmp/prism-build-gpu}
ARCH=${PRISM_CUDA_ARCH:-90}
JOBS=${PRISM_JOBS:-16}
STOP_AFTER=${PRISM_DEVICE_STOP_AFTER:-}
mkdir -p "$OUT"
T0=$(date +%s)

log() { printf '[device-checks %4ss] %s\n' "$(($(date +%s) - T0))" "$*"; }

# run_step NAME LOGFILE CMD...: runs CMD with output to LOGFILE; on failure prints its tail and exits.
run_step() {
  local name=$1 logfile=$2
  shift 2
  log "$name ..."
  if ! "$@" >>"$logfile" 2>&1; then
    echo "================ DEVICE CHECKS FAILED at step: $name ================" >&2
    tail -n 60 "$logfile" >&2
    echo "================ (full log: $logfile) ================" >&2
    exit 1
  fi
}

# ---- 1. dependencies --------------------------------------------------------------------------------------------
# dpkg -x DEB DIR, or ar + tar where dpkg is missing (PRISM_NO_DPKG=1 forces the fallback, for testing it).
extract_deb() {
  if command -v dpkg >/dev/null 2>&1 && [[ -z "${PRISM_NO_DPKG:-}" ]]; then
    dpkg -x "$1" "$2"
    return
  fi
  local member tmp
  member=$(ar t "$1" | grep '^data\.tar') || return 1
  tmp=$(mktemp -d) || return 1
  (cd "$tmp" && ar x "$1" "$member") && tar -xf "$tmp/$member" -C "$2"
  local status=$?
  rm -rf "$tmp"
  return $status
}
unpack_deps() {
  local debs=("$ROOT"/.debs/*.deb)
  [[ -e "${debs[0]}" ]] || { echo "no .debs/*.deb in $ROOT: run tests/gpu/fetch_deps.sh first and carry .debs" >&2; return 1; }
  rm -rf "$PREFIX" && mkdir -p "$PREFIX" || return 1
  # (errexit does not apply inside a function run as a condition: every command checks its own status)
  for deb in "${debs[@]}"; do extract_deb "$deb" "$PREFIX" || { echo "unpacking $deb failed" >&2; return 1; }; done
  # Absolute symlinks (zlib1g-dev's libz.so -> /lib/...) would point outside the prefix: repoint them inside it.
  while IFS= read -r link; do
    local target
    target=$(readlink "$link")
    if [[ "$target" == /* ]]; then ln -sfn "$PREFIX$target" "$link" || return 1; fi
  done < <(find "$PREFIX" -type l)
  local dangling
  dangling=$(find "$PREFIX" -xtype l)
  [[ -z "$dangling" ]] || { echo "dangling links after unpacking: $dangling" >&2; return 1; }
  # Debian's multiarch lib dir, and the /lib half of the usr-merge.
  local multiarch=x86_64-linux-gnu
  for d in "$PREFIX/usr/lib/$multiarch" "$PREFIX/lib/$multiarch"; do
    [[ -d "$d" ]] && export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  done
  echo "unpacked ${#debs[@]} packages into $PREFIX"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  ldd --version 2>&1 | sed -n 1p
}
: >"$OUT/build.log"
run_step "unpack .debs into $PREFIX" "$OUT/build.log" unpack_deps
# unpack_deps ran in this shell (run_step calls it directly), so LD_LIBRARY_PATH is set here too.
[[ "$STOP_AFTER" == deps ]] && { log "stopping after deps (PRISM_DEVICE_STOP_AFTER)"; exit 0; }

# ---- 2. configure and build -------------------------------------------------------------------------------------
if ! command -v nvcc >/dev/null 2>&1; then
  for d in /usr/local/cuda/bin /usr/local/cuda-*/bin; do [[ -x "$d/nvcc" ]] && export PATH="$d:$PATH" && break; done
fi
command -v nvcc >/dev/null 2>&1 || { echo "DEVICE CHECKS FAILED: no nvcc on PATH or in /usr/local/cuda*/bin" >&2; exit 1; }
log "tools: $(nvcc --version | tail -1 | cut -c1-60); $(cmake --version | sed -n 1p); $(g++ --version | sed -n 1p)"
configure() {
  # CMAKE_POLICY_VERSION_MINIMUM: harmless for CMake 3.x, keeps CMake 4 from rejecting older package configs.
  CMAKE_POLICY_VERSION_MINIMUM=3.5 cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPRISM_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DPRISM_NATIVE=ON -DCMAKE_PREFIX_PATH="$PREFIX/usr" \
    ${PRISM_DEVICE_CMAKE_ARGS:-}
}
run_step "configure (sm_$ARCH)" "$OUT/build.log" configure
[[ "$STOP_AFTER" == configure ]] && { log "stopping after configure"; exit 0; }
run_step "build prism + prism_tests (-j$JOBS)" "$OUT/build.log" cmake --build "$BUILD" -j"$JOBS" --target prism prism_tests
[[ "$STOP_AFTER" == build ]] && { log "stopping after build"; exit 0; }

# ---- 3. GPU checks ------------------------------------------------------------------------------------------------
PRISM="$BUILD/prism"
TESTS="$BUILD/prism_tests"
GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed -n 1p || true)
[[ -n "$GPU" ]] || { echo "DEVICE CHECKS FAILED: nvidia-smi sees no GPU" >&2; exit 1; }
log "GPU: $GPU"

: >"$OUT/cuda_tests.log"
# From here on every step runs whatever the previous ones gave: a failing kernel is a finding, not a reason to skip
# the rest. Each status is kept, the table reports it, and the exit status is non-zero if any failed.
# PRISM_CUDA_SYNC=1: wait after every launch, so an execution error names its kernel (the tests time nothing).
cuda_status=0
log "[cuda] tests (kernel case table, conv net, allocator, check) ..."
PRISM_FASHION_MNIST="$PREFIX/usr/share/datasets/fashion-mnist" PRISM_CUDA_SYNC=1 "$TESTS" "[cuda]" --durations yes >>"$OUT/cuda_tests.log" 2>&1 || cuda_status=$?
log "  [cuda] tests exit $cuda_status"

check_status=0
log "prism check (the trainer's step, default config, prism) --steps 50 --json ..."
"$PRISM" check --config "$ROOT/data/configs/fashion_mnist_sym50.yaml" --method prism --steps 50 \
  --set DATA.ROOT="$PREFIX/usr/share/datasets/fashion-mnist" --json >"$OUT/check.json" \
  2>>"$OUT/cuda_tests.log" || check_status=$?

bench_status=0
log "prism bench ops --device cuda / cpu --json ..."
"$PRISM" bench ops --device cuda --json >"$OUT/bench_cuda.json" 2>>"$OUT/cuda_tests.log" || bench_status=$?
"$PRISM" bench ops --device cpu --json >"$OUT/bench_cpu.json" 2>>"$OUT/cuda_tests.log" || bench_status=$?
log "prism bench train --device cuda --json (training step vs PyTorch on the same GPU) ..."
# Three sittings, not the default five: each twin run imports torch and opens a CUDA context (seconds each) out
# of the session's 15 device minutes; a dedicated GPU drifts less than a shared 2-core host.
"$PRISM" bench train --device cuda --steps 40 --sittings 3 --json >"$BUILD/bench_train_cuda.json" \
  2>>"$OUT/cuda_tests.log" || bench_status=$?
log "prism bench resnet --device cuda --train-model resnet50 --json (vs PyTorch + cuDNN on the same GPU) ..."
"$PRISM" bench resnet --device cuda --train-model resnet50 --steps 5 --json >"$BUILD/bench_resnet_cuda.json" \
  2>>"$OUT/cuda_tests.log" || bench_status=$?
# One file for both steps' benchmarks ($OUT brings back at most 8 files); a benchmark that printed nothing is null.
step_json() { if [[ -s "$1" ]]; then cat "$1"; else echo null; fi; }
printf '{"fmnist": %s, "resnet": %s}\n' "$(step_json "$BUILD/bench_train_cuda.json")" \
  "$(step_json "$BUILD/bench_resnet_cuda.json")" >"$OUT/bench_steps_cuda.json"
torch_status=0
log "PyTorch reference benchmark ..."
python3 "$ROOT/tests/gpu/torch_bench.py" >"$OUT/bench_torch.json" 2>>"$OUT/cuda_tests.log" || torch_status=$?

# ---- 4. summary ---------------------------------------------------------------------------------------------------
python3 "$ROOT/tests/gpu/summarize.py" "$OUT" "$GPU" "$cuda_status" "$check_status" "$torch_status" \
  "$(($(date +%s) - T0))" | tee "$OUT/summary.txt" || log "the summary script failed (see above); logs are in $OUT"
if ((cuda_status != 0 || check_status != 0 || bench_status != 0)); then
  echo "DEVICE CHECKS FAILED: [cuda] tests exit $cuda_status, prism check exit $check_status," \
    "bench exit $bench_status (logs in $OUT)" >&2
  tail -n 25 "$OUT/cuda_tests.log" >&2
  exit 1
fi
log "all device checks passed"
