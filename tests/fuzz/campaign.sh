#!/usr/bin/env bash
# A long fuzzing campaign (docs/testing.md, "Fuzzing"): each libFuzzer target of an ASan + UBSan build runs
# until 10 M executions or SECONDS seconds, whichever comes first, PARALLEL targets at a time, from the committed
# seed corpus into a growing work corpus; then one table row per target (execs, exec/s, coverage, findings).
# Test tooling, not part of CTest.
#
#   tests/fuzz/campaign.sh [--build build-asan] [--seconds 3600] [--parallel 2] [--work /tmp/prism-fuzz]
#                          [--table-only] [target ...]
#
# --table-only prints the table from the logs of an earlier campaign in the same --work directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build-asan seconds=3600 parallel=2 work=/tmp/prism-fuzz table_only=0 targets=()
usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=${2:?--build needs a directory}; shift 2 ;;
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --parallel) parallel=${2:?--parallel needs a number}; shift 2 ;;
    --work) work=${2:?--work needs a directory}; shift 2 ;;
    --table-only) table_only=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "campaign.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
case "$seconds$parallel" in *[!0-9]*) echo "campaign.sh: --seconds and --parallel take whole numbers" >&2; exit 2 ;; esac
[ "$parallel" -ge 1 ] || { echo "campaign.sh: --parallel must be at least 1" >&2; exit 2; }
work=$(realpath -m "$work") build=$(realpath -m "$build")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_npy fuzz_safetensors fuzz_config fuzz_list fuzz_idx fuzz_image fuzz_cub_sop fuzz_checkpoint)
fi
for t in "${targets[@]}"; do
  [ -d "tests/fuzz/corpus/$t" ] || { echo "campaign.sh: no seed corpus tests/fuzz/corpus/$t (unknown target '$t')" >&2; exit 2; }
  if [ "$table_only" -eq 0 ] && [ ! -x "$build/tests/fuzz/$t" ]; then
    echo "campaign.sh: $build/tests/fuzz/$t not built (configure $build with -DPRISM_FUZZ=ON and build prism_fuzz)" >&2
    exit 2
  fi
done

run_one() {
  local t=$1
  mkdir -p "$work/corpus/$t" "$work/findings/$t"
  # The findings directory is the working directory too, so anything libFuzzer writes lands there.
  local root=$PWD start=$SECONDS
  (cd "$work/findings/$t" && exec "$build/tests/fuzz/$t" -runs=10000000 -max_total_time="$seconds" \
     -rss_limit_mb=2048 -max_len=4096 -timeout=10 -print_final_stats=1 -artifact_prefix="$work/findings/$t/" \
     "$work/corpus/$t" "$root/tests/fuzz/corpus/$t") > "$work/$t.log" 2>&1 || true
  echo $((SECONDS - start)) > "$work/$t.seconds"
  echo "campaign: $t done ($(date +%T))" >&2
}

if [ "$table_only" -eq 0 ]; then
  mkdir -p "$work"
  echo "campaign: ${#targets[@]} targets, $parallel at a time, up to 10 M execs or $seconds s each; logs in $work" >&2
  running=0
  for t in "${targets[@]}"; do
    if [ "$running" -ge "$parallel" ]; then wait -n; running=$((running - 1)); fi
    run_one "$t" &
    running=$((running + 1))
  done
  wait
fi

echo "| target | execs | seconds | exec/s | coverage (edges) | features | corpus | findings |"
echo "|---|---|---|---|---|---|---|---|"
for t in "${targets[@]}"; do
  log="$work/$t.log"
  [ -f "$log" ] || { echo "| \`$t\` | no log | | | | | | |"; continue; }
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  [ -n "$execs" ] || execs="$(printf '%s' "$last" | sed -E 's/^#([0-9]+).*/\1/') (stopped)"
  cov=$(printf '%s' "$last" | sed -nE 's/.* cov: ([0-9]+).*/\1/p')
  ft=$(printf '%s' "$last" | sed -nE 's/.* ft: ([0-9]+).*/\1/p')
  corp=$(printf '%s' "$last" | sed -nE 's/.* corp: ([0-9]+\/[0-9A-Za-z]+).*/\1/p')
  secs=$(cat "$work/$t.seconds" 2>/dev/null || true)
  found=$(find "$work/findings/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
            -o -name 'oom-*' \) 2>/dev/null | wc -l)
  echo "| \`$t\` | $execs | $secs | $rate | $cov | $ft | $corp | $found |"
done
