// .npy feature datasets for the `mlp` embedder: rows of a float32 matrix, no augmentation (reference code).
#include <cstring>

#include "prism/core/runtime.hpp"
#include "prism/data/datasets.hpp"

namespace prism {

NpyFeatureDataset::NpyFeatureDataset(NpyMatrix features, std::vector<int32_t> labels, std::string name)
    : features_(std::move(features)), name_(std::move(name)) {
  if (static_cast<int64_t>(labels.size()) != features_.rows)
    throw Error(name_ + ": " + std::to_string(features_.rows) + " feature rows but " +
                std::to_string(labels.size()) + " labels");
  if (features_.rows == 0 || features_.cols == 0) throw Error(name_ + ": the feature matrix is empty");
  labels_ = std::move(labels);
}

std::string NpyFeatureDataset::describe() const {
  return name_ + " (" + std::to_string(features_.rows) + " x " + std::to_string(features_.cols) +
         " features)";
}

std::string NpyFeatureDataset::sample_source(int64_t i) const {
  return name_ + "[" + std::to_string(i) + "]";
}

void NpyFeatureDataset::load_sample(int64_t i, bool, Rng&, float* out) const {
  std::memcpy(out, features_.values.data() + i * features_.cols, static_cast<size_t>(features_.cols) * 4);
}

DatasetPtr open_npy_features(const std::string& features_path, const std::string& labels_path) {
  NpyMatrix m = read_npy_f32_matrix(features_path);
  std::vector<int32_t> labels = read_npy_labels(labels_path);
  if (static_cast<int64_t>(labels.size()) != m.rows)
    throw Error("'" + features_path + "' has " + std::to_string(m.rows) + " rows but '" + labels_path +
                "' has " + std::to_string(labels.size()) + " labels");
  return std::make_shared<NpyFeatureDataset>(std::move(m), std::move(labels), features_path);
}

}  // namespace prism
