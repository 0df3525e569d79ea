#!/usr/bin/env bash
# The Fashion-MNIST experiments of docs/results.md as plain `prism sweep` commands: the noise grid (methods x
# symmetric 10/20/50% + small-cluster 25/50% closed, symmetric 50% open, 3 seeds) and the beyond-PRISM table
# (seed 0, default config and small-cluster 50%). Exact mode, so a cell is bit-identical whichever build, thread
# count or session computes it; rerunning skips finished cells and resumes interrupted ones.
#   PRISM_BIN (build/prism)  GRID_OUT (runs/grid)  GRID_SEEDS (0,1,2)  GRID_STAGES ("table audit grid final")
#   GRID_METHODS (the six below): the methods of the grid stage's closed and open sweeps, e.g. the paper's five
#   first; GRID_VMF (1): 0 leaves out the grid stage's vmf_log sweeps. Either way a later full run adds the rest.
set -uo pipefail
cd "$(dirname "$0")/../.."
P=${PRISM_BIN:-build/prism}
OUT=${GRID_OUT:-runs/grid}
SEEDS=${GRID_SEEDS:-0,1,2}
STAGES=${GRID_STAGES:-table audit grid final}
C=data/configs
METHODS=contrastive,xbm,trm,prism,oracle,knn
CLOSED_NOISE=(symmetric:0.1,0.2,0.5 small-cluster:0.25,0.5)
GRID_METHODS=${GRID_METHODS:-$METHODS}
GRID_VMF=${GRID_VMF:-1}
status=0
sweep() { echo "+ prism sweep $*"; "$P" sweep "$@" --set RUN.MODE=exact || { status=1; return 1; }; }
# prism with the two vMF forms, one single-cell sweep each, side by side on one core each:
# vmf_forms CONFIG OUT_PREFIX [sweep flags…] -> OUT_PREFIX_vmf, OUT_PREFIX_vmflog
vmf_forms() {
  local config=$1 out=$2
  shift 2
  sweep --config "$config" --methods prism --seeds 0 "$@" --set NOISE.CLEAN_PROBABILITY=vmf \
    --set RUN.THREADS=1 --out "${out}_vmf" &
  local first=$!
  sweep --config "$config" --methods prism --seeds 0 "$@" --set NOISE.CLEAN_PROBABILITY=vmf_log \
    --set RUN.THREADS=1 --out "${out}_vmflog"
  wait $first || status=1
}
# the noise grid's four sweeps for SEEDS; the remaining flags (--jobs 2) go to those that train several cells
grid_sweeps() {
  local seeds=$1
  shift
  sweep --config $C/fashion_mnist_small_cluster50.yaml --methods $GRID_METHODS --noise "${CLOSED_NOISE[@]}" --seeds $seeds "$@" --out $OUT/closed
  [ "$GRID_VMF" = 0 ] || sweep --config $C/fashion_mnist_small_cluster50.yaml --methods prism --noise "${CLOSED_NOISE[@]}" --seeds $seeds --set NOISE.CLEAN_PROBABILITY=vmf_log "$@" --out $OUT/closed_vmflog
  sweep --config $C/fashion_mnist_open_sym50.yaml --methods $GRID_METHODS --noise symmetric:0.5 --seeds $seeds "$@" --out $OUT/open
  [ "$GRID_VMF" = 0 ] || sweep --config $C/fashion_mnist_open_sym50.yaml --methods prism --noise symmetric:0.5 --seeds $seeds --set NOISE.CLEAN_PROBABILITY=vmf_log --out $OUT/open_vmflog
}
for stage in $STAGES; do
  case $stage in
  table)  # beyond-PRISM table (issue 13): seed 0, default config and small-cluster 50%
    sweep --config $C/fashion_mnist_sym50.yaml --methods $METHODS --seeds 0 --jobs 2 --out $OUT/sym50
    vmf_forms $C/fashion_mnist_sym50.yaml $OUT/sym50
    sweep --config $C/fashion_mnist_sym50.yaml --methods xbm,prism --seeds 0 --set LOSSES.NAME=multi_similarity --jobs 2 --out $OUT/sym50_ms
    sweep --config $C/fashion_mnist_sym50.yaml --methods xbm,prism --seeds 0 --set LOSSES.NAME=softtriple --jobs 2 --out $OUT/sym50_st
    sweep --config $C/fashion_mnist_small_cluster50.yaml --methods $METHODS --noise small-cluster:0.5 --seeds 0 --jobs 2 --out $OUT/closed
    vmf_forms $C/fashion_mnist_small_cluster50.yaml $OUT/closed --noise small-cluster:0.5
    sweep --config $C/fashion_mnist_small_cluster50.yaml --methods xbm,prism --noise small-cluster:0.5 --seeds 0 --set LOSSES.NAME=multi_similarity --jobs 2 --out $OUT/closed_ms
    sweep --config $C/fashion_mnist_small_cluster50.yaml --methods xbm,prism --noise small-cluster:0.5 --seeds 0 --set LOSSES.NAME=softtriple --jobs 2 --out $OUT/closed_st
    ;;
  audit)  # the grid's prism cells that `prism audit --run` reads (issue 12), before the rest of the grid
    sweep --config $C/fashion_mnist_small_cluster50.yaml --methods prism --noise symmetric:0.2 small-cluster:0.25 --seeds 0 --jobs 2 --out $OUT/closed
    ;;
  grid)  # the noise grid (issue 10), seed by seed so that whole seeds finish first
    for s in ${SEEDS//,/ }; do grid_sweeps $s --jobs 2; done
    ;;
  final)  # every seed at once: nothing left to train, so these only write the complete results and pages
    grid_sweeps $SEEDS
    ;;
  *) echo "fashion_mnist_grid.sh: unknown stage '$stage' (table, audit, grid, final)" >&2; exit 2 ;;
  esac
done
exit $status
