// Fashion-MNIST as a Dataset: normalised [1, 28, 28] samples with an optional random horizontal flip
// (reference).
#include <cstring>

#include "prism/core/runtime.hpp"
#include "prism/data/datasets.hpp"

namespace prism {

FashionMnistDataset::FashionMnistDataset(std::shared_ptr<const FashionMnistRaw> raw,
                                         FashionMnistTransform transform, std::string name)
    : raw_(std::move(raw)), transform_(transform), name_(std::move(name)) {
  if (!(transform_.std > 0)) throw Error("INPUT.PIXEL_STD must be > 0 for Fashion-MNIST");
  if (!(transform_.flip_prob >= 0 && transform_.flip_prob <= 1))
    throw Error("INPUT.FLIP_PROB must be in [0, 1]");
  labels_ = raw_->labels;
}

std::string FashionMnistDataset::describe() const {
  return name_ + " (" + std::to_string(raw_->count) + " images)";
}

std::string FashionMnistDataset::sample_source(int64_t i) const {
  return name_ + "[" + std::to_string(i) + "]";
}

void FashionMnistDataset::load_sample(int64_t i, bool train, Rng& rng, float* out) const {
  const int64_t rows = raw_->rows, cols = raw_->cols;
  const uint8_t* px = raw_->pixels.data() + i * rows * cols;
  const bool flip = train && rng.uniform() < transform_.flip_prob;
  for (int64_t y = 0; y < rows; ++y)
    for (int64_t x = 0; x < cols; ++x) {
      const uint8_t v = px[y * cols + (flip ? cols - 1 - x : x)];
      out[y * cols + x] = (v / 255.0f - transform_.mean) / transform_.std;
    }
}

Image FashionMnistDataset::preview(int64_t i) const {
  Image img;
  img.width = static_cast<int>(raw_->cols);
  img.height = static_cast<int>(raw_->rows);
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(img.width) * img.height * 3);
  const uint8_t* px = raw_->pixels.data() + i * raw_->rows * raw_->cols;
  for (size_t p = 0; p < static_cast<size_t>(img.width) * img.height; ++p)
    img.pixels[3 * p] = img.pixels[3 * p + 1] = img.pixels[3 * p + 2] = px[p];
  return img;
}

DatasetPtr open_fashion_mnist(const std::string& dir, bool train, const FashionMnistTransform& transform) {
  auto raw = std::make_shared<const FashionMnistRaw>(read_fashion_mnist(dir, train));
  return std::make_shared<FashionMnistDataset>(raw, transform,
                                               std::string("fashion-mnist ") + (train ? "train" : "test"));
}

}  // namespace prism
