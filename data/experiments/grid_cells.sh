#!/usr/bin/env bash
# Moves the finished cells of the Fashion-MNIST grid (fashion_mnist_grid.sh) between a sweep directory and the
# repository's record of them, docs/grid/, which keeps per cell what the tables and the report page read
# (config.yaml, summary.json, metrics.jsonl, run_time.json, train.log; report/gallery.png for seed 0) and not the
# checkpoint or embeddings. A restored finished cell is skipped by `prism sweep`, so the grid goes on where the
# record ends, on any machine.
#   grid_cells.sh save [GRID_OUT]      GRID_OUT (runs/grid) -> docs/grid, finished cells only
#   grid_cells.sh restore [GRID_OUT]   docs/grid -> GRID_OUT
set -euo pipefail
cd "$(dirname "$0")/../.."
action=${1:-}
out=${2:-runs/grid}
record=docs/grid
case $action in
save)
  n=0
  while IFS= read -r summary; do
    cell=$(dirname "$summary")
    rel=${cell#"$out"/}
    mkdir -p "$record/$rel"
    for f in config.yaml summary.json metrics.jsonl run_time.json train.log; do
      [ -f "$cell/$f" ] && cp "$cell/$f" "$record/$rel/$f.tmp" && mv "$record/$rel/$f.tmp" "$record/$rel/$f"
    done
    case $rel in */seed0)
      if [ -f "$cell/report/gallery.png" ]; then
        mkdir -p "$record/$rel/report" && cp "$cell/report/gallery.png" "$record/$rel/report/gallery.png"
      fi ;;
    esac
    n=$((n + 1))
  done < <(find "$out" -path '*/runs/*' -name summary.json | sort)
  echo "grid_cells.sh: $n finished cells of $out recorded in $record"
  ;;
restore)
  [ -d "$record" ] || { echo "grid_cells.sh: no $record to restore" >&2; exit 1; }
  mkdir -p "$out"
  cp -r "$record"/. "$out"/
  echo "grid_cells.sh: $(find "$record" -name summary.json | wc -l) finished cells restored into $out"
  ;;
*)
  echo "usage: grid_cells.sh save|restore [GRID_OUT]" >&2
  exit 2
  ;;
esac
