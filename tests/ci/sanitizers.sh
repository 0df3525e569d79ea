#!/usr/bin/env bash
# The sanitizer half of the README's test command (docs/testing.md, "Sanitizers"): the whole suite and every
# fuzz corpus under clang's AddressSanitizer + UndefinedBehaviorSanitizer (build-asan, -DPRISM_FUZZ=ON, which
# also builds the libFuzzer targets and fuzzes each one briefly), then the tests tagged [threads] under
# ThreadSanitizer (build-tsan). Run from the repository root after the release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=${PRISM_CI_JOBS:-2}
start=$SECONDS
stamp() { printf 'sanitizers: %s after %d s\n' "$1" $((SECONDS - start)); }

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DPRISM_FUZZ=ON -DPRISM_CUDA=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-asan -j"$jobs"
stamp "ASan+UBSan build"
# halt_on_error: the first report fails the test; detect_leaks: LeakSanitizer too (on by default on Linux).
ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
stamp "ASan+UBSan suite and fuzz corpora"

cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Release -DPRISM_TSAN=ON -DPRISM_CUDA=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-tsan -j"$jobs" --target prism prism_tests
stamp "TSan build"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --test-dir build-tsan --output-on-failure -j"$jobs"
stamp "TSan [threads] tests"
