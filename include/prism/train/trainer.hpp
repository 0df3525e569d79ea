// The PRISM training loop of DESIGN §4 (methods contrastive, xbm, trm, prism, oracle) with its run directory:
// resolved config, metrics.jsonl, checkpoint.safetensors (everything a resume needs), final test embeddings,
// summary.json and a report/ of plots and a retrieval gallery. Reference code; docs/training.md walks the
// iteration with the config keys that drive each step.
#pragma once
#include <cstdint>
#include <string>

#include "prism/train/config.hpp"

namespace prism {

struct TrainOptions {
  std::string out_dir;  // the run directory (created; a run already there is refused unless resume/overwrite)
  bool resume = false;  // continue out_dir's checkpoint with out_dir's config.yaml
  bool overwrite = false;  // start afresh where out_dir already holds a run (its outputs are replaced)
  // End after this many iterations with the checkpoint written, as an interruption would (-1: run to the
  // end).
  int64_t stop_after = -1;
  bool progress = true;  // progress bar / lines on stderr
};

struct TrainSummary {
  std::string method;
  double noise_rate = 0;
  int64_t iterations = 0;
  double precision_at_1 = 0, map_at_r = 0, r_precision = 0;
  // Over the iterations in which the memory is in use (all of them for `contrastive`): the clean share of the
  // samples the loss kept, and the share of the noisy samples that were removed. NaN without noise flags.
  double kept_precision = 0, noise_recall = 0;
  double train_seconds = 0, images_per_second = 0;
  std::string device, mode;
  int64_t seed = 0;
  bool finished = false;  // false when the run stopped early (--stop-after): no summary.json then
  std::string out_dir;
};

// Runs (or resumes) a training run. Throws prism::Error with a message naming the file, key or iteration at
// fault (bad config, missing data, unwritable directory, a non-finite loss — the last good checkpoint stays).
TrainSummary train(const Config& config, const TrainOptions& options);

// The config a run directory was started with (DIR/config.yaml).
Config load_run_config(const std::string& run_dir);

}  // namespace prism
