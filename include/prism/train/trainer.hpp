// `prism train`: a TrainingRun (run.hpp) driven over SOLVER.MAX_ITERS iterations into its run directory —
// resolved config, metrics.jsonl, checkpoint.safetensors (everything a resume needs), final test
// embeddings, summary.json and a report/ of plots and a retrieval gallery (run_report.hpp). Reference code;
// docs/training.md describes the directory.
#pragma once
#include <cstdint>
#include <string>

#include "prism/train/config.hpp"
#include "prism/train/run_report.hpp"

namespace prism {

struct TrainOptions {
  std::string out_dir;  // the run directory (created; a run already there is refused unless resume/overwrite)
  bool resume = false;  // continue out_dir's checkpoint with out_dir's config.yaml
  // Start afresh where out_dir already holds a run: its outputs are moved aside (out_dir/.replaced/) and
  // removed only once the new run has started (data opened, model built); if it fails before that, they
  // are put back.
  bool overwrite = false;
  // End after this many iterations with the checkpoint written, as an interruption would (-1: run to the
  // end).
  int64_t stop_after = -1;
  bool progress = true;  // progress bar / lines on stderr
};

// Runs (or resumes) a training run. Throws prism::Error with a message naming the file, key or iteration at
// fault (bad config, missing data, unwritable directory, a non-finite loss — the last good checkpoint stays).
TrainSummary train(const Config& config, const TrainOptions& options);

// The config a run directory was started with (DIR/config.yaml).
Config load_run_config(const std::string& run_dir);

}  // namespace prism
