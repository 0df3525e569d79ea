// Dataset base (batch loading, labels, noise flags), subsets and the noise hook (reference code).
#include "prism/data/dataset.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "prism/core/runtime.hpp"
#include "prism/data/list.hpp"

namespace prism {

// ---- Dataset ----------------------------------------------------------------------------------------------

int32_t Dataset::num_classes() const {
  int32_t m = -1;
  for (int32_t l : labels_) m = std::max(m, l);
  return m + 1;
}

uint8_t Dataset::noise_flag(int64_t i) const {
  if (noise_flags_.empty()) throw Error(describe() + ": noise flags are unknown for this dataset");
  return noise_flags_.at(static_cast<size_t>(i));
}

Image Dataset::preview(int64_t) const {
  throw Error(describe() + ": samples are not images, no preview");
}

Batch Dataset::load_batch(const std::vector<int64_t>& indices, bool train, uint64_t seed,
                          uint64_t first_draw) const {
  const Shape sample = sample_shape();
  const int64_t per = shape_numel(sample);
  const int64_t b = static_cast<int64_t>(indices.size());
  for (int64_t k = 0; k < b; ++k)
    if (indices[k] < 0 || indices[k] >= size())
      throw Error(describe() + ": batch index " + std::to_string(indices[k]) + " out of range [0, " +
                  std::to_string(size()) + ")");
  Shape shape{b};
  shape.insert(shape.end(), sample.begin(), sample.end());
  Batch batch;
  batch.inputs = Tensor::empty(shape, DType::f32, DeviceType::cpu);
  batch.indices = indices;
  std::vector<int32_t> labels(static_cast<size_t>(b));
  for (int64_t k = 0; k < b; ++k) labels[k] = label(indices[k]);
  batch.labels = Tensor::from_vector_i32({b}, labels, DeviceType::cpu);
  float* out = batch.inputs.data_f32();
  const Rng base(seed, RngStream::augment);
  // Each row owns its slice of the output and its own generator, so the thread that runs it does not matter.
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, b, 1), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t k = r.begin(); k < r.end(); ++k) {
      Rng rng = base.fork(first_draw + static_cast<uint64_t>(k));
      load_sample(indices[k], train, rng, out + k * per);
    }
  });
  return batch;
}

void Dataset::set_labels(std::vector<int32_t> labels, std::vector<uint8_t> noise_flags) {
  if (labels.size() != labels_.size())
    throw Error(describe() + ": set_labels got " + std::to_string(labels.size()) + " labels for " +
                std::to_string(labels_.size()) + " samples");
  if (!noise_flags.empty() && noise_flags.size() != labels.size())
    throw Error(describe() + ": set_labels got " + std::to_string(noise_flags.size()) + " noise flags for " +
                std::to_string(labels.size()) + " samples");
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0)
      throw Error(describe() + ": label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                  " is negative");
  labels_ = std::move(labels);
  if (!noise_flags.empty()) noise_flags_ = std::move(noise_flags);
}

std::vector<int32_t> Dataset::compact_labels() {
  return remap_labels_contiguous(labels_);
}

// ---- SubsetDataset ----------------------------------------------------------------------------------------

SubsetDataset::SubsetDataset(DatasetPtr parent, std::vector<int64_t> indices)
    : parent_(std::move(parent)), indices_(std::move(indices)) {
  labels_.reserve(indices_.size());
  for (int64_t i : indices_) {
    if (i < 0 || i >= parent_->size())
      throw Error(parent_->describe() + ": subset index " + std::to_string(i) + " out of range");
    labels_.push_back(parent_->label(i));
  }
  if (parent_->has_noise_flags())
    for (int64_t i : indices_) noise_flags_.push_back(parent_->noise_flag(i));
}

std::string SubsetDataset::describe() const {
  return parent_->describe() + ", subset of " + std::to_string(indices_.size());
}
std::string SubsetDataset::sample_source(int64_t i) const {
  return parent_->sample_source(parent_index(i));
}
void SubsetDataset::load_sample(int64_t i, bool train, Rng& rng, float* out) const {
  parent_->load_sample(parent_index(i), train, rng, out);
}
Image SubsetDataset::preview(int64_t i) const {
  return parent_->preview(parent_index(i));
}

DatasetPtr make_subset(DatasetPtr parent, std::vector<int64_t> indices) {
  return std::make_shared<SubsetDataset>(std::move(parent), std::move(indices));
}

// ---- index lists ------------------------------------------------------------------------------------------

std::vector<int64_t> class_half_indices(const std::vector<int32_t>& labels, bool first_half) {
  std::vector<int32_t> distinct = labels;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (distinct.empty()) return {};
  const size_t n_first = (distinct.size() + 1) / 2;
  // Labels up to `cut` belong to the first half.
  const int32_t cut = distinct[n_first - 1];
  std::vector<int64_t> out;
  for (size_t i = 0; i < labels.size(); ++i)
    if ((labels[i] <= cut) == first_half) out.push_back(static_cast<int64_t>(i));
  return out;
}

std::vector<int64_t> label_range_indices(const std::vector<int32_t>& labels, int32_t lo, int32_t hi) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= lo && labels[i] <= hi) out.push_back(static_cast<int64_t>(i));
  return out;
}

std::vector<int64_t> first_per_class_indices(const std::vector<int32_t>& labels, int64_t n) {
  std::unordered_map<int32_t, int64_t> seen;
  std::vector<int64_t> out;
  for (size_t i = 0; i < labels.size(); ++i)
    if (seen[labels[i]]++ < n) out.push_back(static_cast<int64_t>(i));
  return out;
}

std::vector<int64_t> random_subset_indices(int64_t total, int64_t n, uint64_t seed, uint64_t purpose) {
  if (total < 0 || n < 0) throw Error("random_subset_indices: negative size");
  std::vector<int64_t> perm(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) perm[i] = i;
  if (n >= total) return perm;
  if (total > static_cast<int64_t>(UINT32_MAX)) throw Error("random_subset_indices: dataset too large");
  Rng rng = Rng(seed, RngStream::split).fork(purpose);
  // Partial Fisher–Yates: position k takes a uniform pick among the not yet chosen ones.
  for (int64_t k = 0; k < n; ++k) {
    const int64_t j = k + rng.below(static_cast<uint32_t>(total - k));
    std::swap(perm[k], perm[j]);
  }
  perm.resize(static_cast<size_t>(n));
  std::sort(perm.begin(), perm.end());
  return perm;
}

// ---- noise hook -------------------------------------------------------------------------------------------

void apply_noise(Dataset& dataset, const NoiseGenerator& generator) {
  if (!generator) throw Error(dataset.describe() + ": no noise generator connected");
  NoisyLabels noisy = generator(dataset);
  if (noisy.flags.size() != noisy.labels.size())
    throw Error(dataset.describe() + ": the noise generator returned " + std::to_string(noisy.labels.size()) +
                " labels but " + std::to_string(noisy.flags.size()) + " flags");
  dataset.set_labels(std::move(noisy.labels), std::move(noisy.flags));
}

std::vector<float> sample_features(const Dataset& dataset, int64_t* dim, int64_t max_dim, int side) {
  const int64_t n = dataset.size();
  const int64_t per = shape_numel(dataset.sample_shape());
  std::vector<float> out;
  if (per <= max_dim) {
    *dim = per;
    out.resize(static_cast<size_t>(n * per));
    // In chunks, so the temporary batch tensor stays small.
    for (int64_t start = 0; start < n; start += 1024) {
      std::vector<int64_t> idx;
      for (int64_t i = start; i < std::min(n, start + 1024); ++i) idx.push_back(i);
      Batch b = dataset.load_batch(idx, false, 0, 0);
      const float* src = b.inputs.data_f32();
      std::copy(src, src + idx.size() * per, out.begin() + start * per);
    }
    return out;
  }
  if (side <= 0) throw Error("sample_features: side must be > 0");
  *dim = 3 * static_cast<int64_t>(side) * side;
  out.resize(static_cast<size_t>(n * *dim));
  tbb::parallel_for(int64_t(0), n, [&](int64_t i) {
    const Image small = resize_image(dataset.preview(i), side, side);
    float* dst = out.data() + i * *dim;
    for (int64_t k = 0; k < *dim; ++k) dst[k] = small.pixels[k] / 255.0f;
  });
  return out;
}

}  // namespace prism
