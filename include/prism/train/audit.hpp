// `prism audit`'s scoring (reference code): every training sample's label judged against the final embeddings
// of the training set — a label-quality score in [0, 1] (low = likely mislabelled), a suggested label and a
// flag — by one of the scorers of audit_scorers(); the detection metrics against known noise flags; and the
// audit of a run directory. Outputs (audit.csv / .json / .html): audit_report.hpp. Guide: docs/audit.md.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "prism/core/runtime.hpp"
#include "prism/core/tensor.hpp"
#include "prism/data/dataset.hpp"

namespace prism {

// ---- scores ------------------------------------------------------------------------------------------------

struct AuditOptions {
  std::string scorer = "knn-propagated";  // a name of audit_scorers() (the best measured: docs/audit.md)
  int64_t k = 50;                         // neighbours per sample (knn scorers)
  double temperature = 0.1;               // softmax temperature of the weighted vote and of the center scorer
  double flag_ratio =
      0.5;  // flagged: the label's support < flag_ratio × its class's mean support (docs/audit.md)
};

// What a scorer says of every sample. The raw vote (scores_from_votes) suggests the best-supported class and
// flags where it differs from the given one; the scorers then apply flag_weak_labels, whose flags and
// suggestions are the audit's.
struct LabelScores {
  std::vector<float> score;        // [N] in [0, 1]: the given label's share of the vote; low = suspect
  std::vector<int32_t> suggested;  // [N] the label the audit suggests (the given one unless flagged)
  std::vector<uint8_t> flagged;    // [N] 1 = judged mislabelled: the flag count is estimated, no rate given
  std::vector<float> support;  // [N] the given label's share of the direct vote (= score but for propagated)
  std::vector<int32_t> best_other;  // [N] the best-supported class other than the given one (-1: none voted)

  LabelScores() = default;
  explicit LabelScores(int64_t n) : score(n), suggested(n), flagged(n), support(n), best_other(n, -1) {}
};

// The flag rule of every scorer: sample i is flagged when its label's support is below `ratio` times the mean
// support of the samples that carry the same label (a share relative to what its class typically gets, so no
// noise rate is needed and confusable classes are judged by their own standard); a flagged sample's
// suggestion is its best-supported other class, an unflagged one keeps its label. Needs a class to vote for
// instead: a sample whose neighbours all carry its label is never flagged.
void flag_weak_labels(LabelScores& s, const std::vector<int32_t>& labels, int32_t num_classes, double ratio);

// The k nearest rows of every row of emb [N, d] by dot product (self excluded), best first, ties by index:
// [N · k] indices (k is capped at N − 1). One GEMM per block of rows on emb's device, a heap per row on the host.
std::vector<int64_t> nearest_neighbours(const Tensor& emb, int64_t k);

// Scores from the neighbours' votes (labels in [0, C)); `weights` [N · k] aligned with `neighbours` (empty =
// one vote each). A sample's vote shares are p(c) = Σ_{j ∈ N(i), y_j = c} w_j / Σ_j w_j.
LabelScores scores_from_votes(const std::vector<int32_t>& labels, int32_t num_classes,
                              const std::vector<int64_t>& neighbours, int64_t k,
                              const std::vector<float>& weights = {});

struct AuditScorerSpec {
  const char* name;  // --scorer
  LabelScores (*score)(const Tensor& emb, const std::vector<int32_t>& labels, int32_t num_classes,
                       const AuditOptions& options);
  const char* summary;
};

// knn (uniform vote of the k nearest training embeddings), knn-weighted (votes weighted by
// exp((s − s_nearest) / T)), knn-propagated (the default: the weighted vote of the neighbours' own weighted
// shares, the sample left out; support, suggestion and flag of knn-weighted), center (softmax over the
// similarities to the class means, temperature T). Each ends with flag_weak_labels(options.flag_ratio).
std::span<const AuditScorerSpec> audit_scorers();
const AuditScorerSpec& audit_scorer(const std::string& name);  // throws listing the names
std::vector<std::string> audit_scorer_names();

// ---- metrics against known flags ---------------------------------------------------------------------------

// The order of the audit: ascending score, ties by index (worst first).
std::vector<int64_t> audit_order(const std::vector<float>& score);

struct DetectionMetrics {
  int64_t noisy = 0, flagged = 0, true_positives = 0;
  double auroc =
      0;  // P(score of a noisy sample < score of a clean one), ties counted one half; NaN if undefined
  double precision = 0, recall = 0,
         f1 = 0;  // of the flags; NaN when undefined (nothing flagged / nothing noisy)
  std::vector<std::pair<int64_t, double>> precision_at;  // (k, share of noisy among the k worst)
};

// AUROC of "low score = noisy" (Mann–Whitney with mid-ranks for ties).
double detection_auroc(const std::vector<float>& score, const std::vector<uint8_t>& noisy);
// Share of noisy samples among the first k of `order`.
double precision_at_k(const std::vector<int64_t>& order, const std::vector<uint8_t>& noisy, int64_t k);
// Every metric; precision at k for k = 10, 100, 1000 (those ≤ N) and k = the number of noisy samples.
DetectionMetrics detection_metrics(const LabelScores& s, const std::vector<uint8_t>& noisy);

// ---- the audit of a run ------------------------------------------------------------------------------------

struct AuditRunOptions {
  std::string run_dir;  // a run directory: config.yaml and checkpoint.safetensors (or train_embeddings.npy)
  std::string device, mode;  // override the run's RUN.DEVICE / RUN.MODE when not empty
  int threads = -1;          // override RUN.THREADS when >= 0
  AuditOptions scoring;
  int64_t show = 60;  // suspects on the page
};

struct AuditSummary {
  int64_t samples = 0, flagged = 0;
  double estimated_noise_rate = 0;
  bool has_noise_flags = false;
  DetectionMetrics metrics;  // with noise flags only
  std::string out_dir;
};

// An audit judges every entry of an image list, so a missing or unreadable image is an error
// (DATA.MISSING_IMAGES: error, set by the audit on the run's config); this rewrites that error's hint, which
// suggests skipping, into one the audit can follow.
std::string audit_error_text(const std::string& what);

// Scores the training set of a run directory and writes DIR/audit.csv, audit.json, audit.html (and
// train_embeddings.npy of a finished run, which later audits reuse). Throws prism::Error naming what is
// missing (no config.yaml, neither a checkpoint nor train_embeddings.npy, a list whose images are gone).
AuditSummary audit_run(const AuditRunOptions& options);

}  // namespace prism
