// The run directory's reports (reference code): the metrics log (metrics.jsonl, one JSON line per logged
// iteration and per evaluation, rewritten atomically), the summary (summary.json), the curves
// (report/*.svg) and the retrieval gallery (report/gallery.png). The trainer calls these; it formats none of
// them itself. Layout: docs/training.md.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "prism/data/dataset.hpp"
#include "prism/dml/metrics.hpp"
#include "prism/train/run.hpp"

namespace prism {

struct TrainSummary {
  std::string method;
  double noise_rate = 0;
  int64_t iterations = 0;
  double precision_at_1 = 0, map_at_r = 0, r_precision = 0;
  // Over the iterations in which the memory is in use (all of them for `contrastive`): the clean share of the
  // samples the loss kept, and the share of the noisy samples that were removed. NaN without noise flags.
  double kept_precision = 0, noise_recall = 0;
  // Training time of the whole run (every part of a resumed run), without evaluations.
  double train_seconds = 0, images_per_second = 0;
  std::string device, mode;
  int64_t seed = 0;
  bool finished = false;  // false when the run stopped early (--stop-after): no summary.json then
  std::string out_dir;
};

nlohmann::ordered_json summary_json(const TrainSummary& s);

// metrics.jsonl, kept in memory and rewritten atomically on every add, so the file is always whole.
class MetricsLog {
 public:
  explicit MetricsLog(std::string path) : path_(std::move(path)) {}
  // Keeps the records up to `iteration` of an existing log (resume).
  void load(int64_t iteration);
  void add(nlohmann::ordered_json record);
  const std::vector<nlohmann::ordered_json>& records() const { return records_; }

 private:
  std::string path_;
  std::vector<nlohmann::ordered_json> records_;
};

// The record of one training step (loss terms, lr, selection, memory size, throughput of the window).
nlohmann::ordered_json step_record(const StepResult& r, double images_per_second);
// The record of one evaluation at `iteration`.
nlohmann::ordered_json eval_record(int64_t iteration, const dml::RetrievalMetrics& m);

// report/loss.svg, retrieval.svg, kept_ratio.svg, selection.svg from the records.
void write_run_plots(const std::string& report_dir, const std::vector<nlohmann::ordered_json>& records);
// report/gallery.png: 8 test queries spread over the set, each with its 8 nearest neighbours (self excluded;
// ties by index). emb is [N, dim] row-major on the host. Throws for datasets without pictures.
void write_retrieval_gallery(const std::string& path, const Dataset& test, const std::vector<float>& emb,
                             int64_t dim);

}  // namespace prism
