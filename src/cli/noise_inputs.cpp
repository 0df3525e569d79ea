// Inputs of `prism noise` that are not .npy: Fashion-MNIST IDX files and pixel features of the images of a
// PRISM list, through the data layer's readers (idx.hpp, image.hpp). Reference code.
#include "cli/noise_inputs.hpp"

#include <tbb/parallel_for.h>

#include "prism/core/runtime.hpp"
#include "prism/data/idx.hpp"
#include "prism/data/image.hpp"
#include "prism/data/list.hpp"

namespace prism::cli {

std::vector<int32_t> read_idx_labels(const std::string& path) {
  const IdxArray a = read_idx(path, 1);
  return std::vector<int32_t>(a.data.begin(), a.data.end());
}

Embeddings read_idx_pixels(const std::string& path) {
  const IdxArray a = read_idx(path, 3);
  Embeddings e;
  e.rows = a.dims[0];
  e.cols = a.dims[1] * a.dims[2];
  e.values.resize(a.data.size());
  for (size_t i = 0; i < e.values.size(); ++i) e.values[i] = a.data[i] / 255.0f;
  return e;
}

Embeddings list_pixel_features(const ImageList& list, const std::string& root, int side) {
  Embeddings e;
  e.rows = static_cast<int64_t>(list.size());
  e.cols = int64_t(side) * side * 3;
  e.values.resize(static_cast<size_t>(e.rows * e.cols));
  std::vector<std::string> errors(list.size());
  tbb::parallel_for(size_t(0), list.size(), [&](size_t i) {
    const std::string path = resolve_path(root, list.paths[i]);
    try {
      const Image small = resize_image(decode_image_file(path), side, side);
      for (int64_t j = 0; j < e.cols; ++j) e.values[i * e.cols + j] = small.pixels[j] / 255.0f;
    } catch (const Error& err) {
      errors[i] = err.what();
    }
  });
  for (size_t i = 0; i < errors.size(); ++i)
    if (!errors[i].empty())
      throw Error(errors[i] + " (list line " + std::to_string(i + 1) +
                  "; small-cluster noise needs every image, or pass --features F.npy)");
  return e;
}

}  // namespace prism::cli
