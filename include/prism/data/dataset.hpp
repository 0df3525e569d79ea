// The dataset interface the trainer uses: size, labels (possibly noisy), per-sample noise flags when known,
// and load_batch → a CPU tensor [B, C, H, W] or [B, D] + labels. Plus the generic pieces every dataset
// shares: subsets (class halves for the open split, first N per class, seeded random subsets), label
// compaction and the hook through which generated label noise is applied. Reference code.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "prism/core/random.hpp"
#include "prism/core/tensor.hpp"
#include "prism/data/image.hpp"

namespace prism {

struct Batch {
  Tensor inputs;                 // f32 [B, C, H, W] (images) or [B, D] (features), on the CPU
  Tensor labels;                 // i32 [B]: the labels training sees (noisy ones when noise was applied)
  std::vector<int64_t> indices;  // the dataset index of each row
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  // ---- what the trainer asks ------------------------------------------------------------------------------
  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  int32_t num_classes() const;  // max label + 1 (DESIGN §4: C)
  int32_t label(int64_t i) const { return labels_.at(static_cast<size_t>(i)); }
  const std::vector<int32_t>& labels() const { return labels_; }
  bool has_noise_flags() const { return !noise_flags_.empty(); }
  // 1 when sample i's label is known to be wrong. Throws when the flags are unknown (see has_noise_flags).
  uint8_t noise_flag(int64_t i) const;
  const std::vector<uint8_t>& noise_flags() const { return noise_flags_; }  // empty when unknown

  // Shape of one sample: {C, H, W} or {D}.
  virtual Shape sample_shape() const = 0;
  // Human-readable description ("fashion-mnist train (60000 images)") and the source of one sample
  // (a path, or "file[index]"), for messages and reports.
  virtual std::string describe() const = 0;
  virtual std::string sample_source(int64_t i) const = 0;

  // Writes sample i into out[numel(sample_shape())]. `train` selects the random augmentation, drawn from
  // `rng` only. Must be thread-safe (const, no shared mutable state).
  virtual void load_sample(int64_t i, bool train, Rng& rng, float* out) const = 0;

  // An 8-bit RGB picture of sample i as the test transform sees it (for the retrieval gallery). Datasets that
  // are not images throw.
  virtual Image preview(int64_t i) const;

  // Loads rows indices[0..B). Sample b's augmentation draws from Rng(seed,
  // RngStream::augment).fork(first_draw + b) (the trainer passes first_draw = iteration · batch size), so the
  // result depends only on the arguments. Samples are decoded in parallel (oneTBB); the result is the same
  // for any thread count.
  Batch load_batch(const std::vector<int64_t>& indices, bool train, uint64_t seed, uint64_t first_draw) const;

  // ---- what the data setup does ---------------------------------------------------------------------------
  // Replaces the labels (and the noise flags, when given: flags[i] = 1 when labels[i] is wrong).
  // Sizes must match.
  void set_labels(std::vector<int32_t> labels, std::vector<uint8_t> noise_flags = {});
  // Maps the distinct labels, in increasing order, to 0..C-1; returns the original label of each new one.
  std::vector<int32_t> compact_labels();

 protected:
  std::vector<int32_t> labels_;
  std::vector<uint8_t> noise_flags_;
};

using DatasetPtr = std::shared_ptr<Dataset>;

// A view of some samples of another dataset (in the order given), with its own copy of their labels and
// flags.
class SubsetDataset : public Dataset {
 public:
  SubsetDataset(DatasetPtr parent, std::vector<int64_t> indices);
  Shape sample_shape() const override { return parent_->sample_shape(); }
  std::string describe() const override;
  std::string sample_source(int64_t i) const override;
  void load_sample(int64_t i, bool train, Rng& rng, float* out) const override;
  Image preview(int64_t i) const override;
  int64_t parent_index(int64_t i) const { return indices_.at(static_cast<size_t>(i)); }

 private:
  DatasetPtr parent_;
  std::vector<int64_t> indices_;
};

// ---- subsets and splits (index lists, ascending) ----------------------------------------------------------
// The samples whose label is in the first ceil(C'/2) (first_half) or the remaining distinct labels, C' being
// the number of distinct labels: the open-set DML protocol (CUB 1–100 / 101–200, Cars 1–98 / 99–196).
std::vector<int64_t> class_half_indices(const std::vector<int32_t>& labels, bool first_half);
// The samples whose label lies in [lo, hi].
std::vector<int64_t> label_range_indices(const std::vector<int32_t>& labels, int32_t lo, int32_t hi);
// The first n samples of every class, in dataset order.
std::vector<int64_t> first_per_class_indices(const std::vector<int32_t>& labels, int64_t n);
// n distinct samples of [0, total) chosen uniformly by a Philox partial Fisher–Yates shuffle keyed by
// (seed, RngStream::split, purpose), returned in ascending order. n >= total returns everything.
std::vector<int64_t> random_subset_indices(int64_t total, int64_t n, uint64_t seed, uint64_t purpose = 0);

DatasetPtr make_subset(DatasetPtr parent, std::vector<int64_t> indices);

// ---- the label-noise hook ---------------------------------------------------------------------------------
// A generator (DML layer: symmetric, small-cluster) turns a clean dataset's labels into noisy ones and says
// which changed. It receives the dataset, so a feature-based generator can load the samples
// (load_batch, train = false).
struct NoisyLabels {
  std::vector<int32_t> labels;
  std::vector<uint8_t> flags;  // 1 = the new label is wrong
};
using NoiseGenerator = std::function<NoisyLabels(const Dataset& clean)>;

// Runs the generator and installs its labels and flags; checks sizes and that labels are >= 0.
void apply_noise(Dataset& dataset, const NoiseGenerator& generator);

// A feature row per sample for feature-based noise (small-cluster k-means on pixels by default), [N, dim]
// row-major. Samples of at most `max_dim` values are used as the test transform gives them (Fashion-MNIST:
// 784 normalised pixels; .npy: the stored features); larger images are described by their preview shrunk to
// side × side RGB (dim = 3 · side², values / 255), so memory stays bounded for big image lists.
std::vector<float> sample_features(const Dataset& dataset, int64_t* dim, int64_t max_dim = 4096,
                                   int side = 16);

}  // namespace prism
