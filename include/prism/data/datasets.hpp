// The concrete datasets: Fashion-MNIST (IDX), image lists (PRISM CSV + image root, decoded with stb_image and
// transformed as the official code does), and .npy feature matrices for the `mlp` embedder. Reference code.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "prism/data/dataset.hpp"
#include "prism/data/idx.hpp"
#include "prism/data/list.hpp"
#include "prism/data/npy.hpp"
#include "prism/data/transform.hpp"

namespace prism {

// ---- Fashion-MNIST ----------------------------------------------------------------------------------------
// Samples [1, 28, 28]: pixel / 255, then (x - mean) / std. Train augmentation: horizontal flip with flip_prob
// (one uniform draw per sample, drawn even when flip_prob is 0).
struct FashionMnistTransform {
  float mean = kFashionMnistMean, std = kFashionMnistStd;
  float flip_prob = 0.0f;
};

class FashionMnistDataset : public Dataset {
 public:
  FashionMnistDataset(std::shared_ptr<const FashionMnistRaw> raw, FashionMnistTransform transform,
                      std::string name);
  Shape sample_shape() const override { return {1, raw_->rows, raw_->cols}; }
  std::string describe() const override;
  std::string sample_source(int64_t i) const override;
  void load_sample(int64_t i, bool train, Rng& rng, float* out) const override;
  Image preview(int64_t i) const override;

 private:
  std::shared_ptr<const FashionMnistRaw> raw_;
  FashionMnistTransform transform_;
  std::string name_;
};

// Reads a split from `dir` (see read_fashion_mnist) into a dataset named "fashion-mnist train|test".
DatasetPtr open_fashion_mnist(const std::string& dir, bool train, const FashionMnistTransform& transform);

// ---- image lists ------------------------------------------------------------------------------------------
// What to do with list entries whose file is missing or not a decodable image (checked once, when the dataset
// is built, by reading each file's header): `skip` drops them and reports them (warning on stderr +
// skipped()); `error` throws naming the first one. Data corrupt beyond the header is found when the sample is
// loaded and is always an error naming the file (a training step cannot silently lose a sample).
enum class MissingImagePolicy { skip, error };
MissingImagePolicy parse_missing_image_policy(const std::string& s);

struct SkippedEntry {
  int64_t entry = 0;  // 1-based position in the list
  std::string path, reason;
};

class ImageListDataset : public Dataset {
 public:
  // `flags` (optional, aligned with `list`): noise flags from a cleaned twin. `name` is the list file, for
  // messages.
  ImageListDataset(const ImageList& list, std::vector<uint8_t> flags, std::string root,
                   ImageTransformSpec spec, MissingImagePolicy policy, std::string name);
  Shape sample_shape() const override { return {3, spec_.crop, spec_.crop}; }
  std::string describe() const override;
  std::string sample_source(int64_t i) const override { return paths_.at(static_cast<size_t>(i)); }
  void load_sample(int64_t i, bool train, Rng& rng, float* out) const override;
  Image preview(int64_t i) const override;
  const std::vector<SkippedEntry>& skipped() const { return skipped_; }

 private:
  std::vector<std::string> paths_;  // resolved against the root
  std::vector<int64_t> entries_;    // 1-based list position of each kept sample
  ImageTransformSpec spec_;
  std::string name_;
  std::vector<SkippedEntry> skipped_;
};

// ---- .npy features ----------------------------------------------------------------------------------------
// Samples [D]: row i of a float32 [N, D] matrix, as stored (no augmentation, `train` is ignored).
class NpyFeatureDataset : public Dataset {
 public:
  NpyFeatureDataset(NpyMatrix features, std::vector<int32_t> labels, std::string name);
  Shape sample_shape() const override { return {features_.cols}; }
  std::string describe() const override;
  std::string sample_source(int64_t i) const override;
  void load_sample(int64_t i, bool train, Rng& rng, float* out) const override;

 private:
  NpyMatrix features_;
  std::string name_;
};

// Reads features + labels .npy files (row counts must match).
DatasetPtr open_npy_features(const std::string& features_path, const std::string& labels_path);

// ---- benchmark list readers -------------------------------------------------------------------------------
struct ListPair {
  ImageList train, test;
};

// CUB-200-2011 from its root (`images.txt`: "id relative/path.jpg", `image_class_labels.txt`: "id class";
// images under `<root>/images/`). Paths come back relative to root ("images/…"); labels as in the files
// (1-based). The DML split: the first half of the class ids (1–100) train, the rest (101–200) test.
ListPair read_cub200(const std::string& root);

// Stanford Online Products from its root (`Ebay_train.txt`, `Ebay_test.txt`: a header line, then
// "image_id class_id super_class_id path"). Paths relative to root; labels = class_id.
ListPair read_sop(const std::string& root);

}  // namespace prism
