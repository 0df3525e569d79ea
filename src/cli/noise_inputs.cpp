// Inputs of `prism noise` that are not .npy: Fashion-MNIST IDX files (gzip via zlib) and pixel features of
// the images of a PRISM list (stb_image, compiled here with static linkage so it cannot clash with the data
// layer's copy). Reference code. When the data layer's IDX reader lands, the IDX part can call it instead.
#include "cli/noise_inputs.hpp"

#include <tbb/parallel_for.h>
#include <zlib.h>

#include <cstring>

#include "prism/core/runtime.hpp"
#include "prism/data/list.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>
#pragma GCC diagnostic pop

namespace prism::cli {

namespace {

std::string read_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error("cannot open '" + path + "'");
  std::string out;
  char buf[1 << 16];
  int got;
  while ((got = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(got));
  int err = Z_OK;
  const char* msg = gzerror(f, &err);
  const std::string text = msg ? msg : "";
  gzclose(f);
  if (got < 0 || (err != Z_OK && err != Z_STREAM_END))
    throw Error(path + ": cannot decompress (" + text + "): truncated or corrupt gzip file");
  return out;
}

uint32_t be32(const std::string& b, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data() + at);
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace

std::vector<int32_t> read_idx_labels(const std::string& path) {
  const std::string b = read_gzip(path);
  if (b.size() < 8 || be32(b, 0) != 0x00000801u)
    throw Error(path + ": not an IDX label file (expected magic 0x00000801)");
  const uint32_t n = be32(b, 4);
  if (b.size() != 8 + size_t(n))
    throw Error(path + ": IDX header says " + std::to_string(n) + " labels, the payload has " +
                std::to_string(b.size() - 8) + " bytes");
  if (n == 0) throw Error(path + ": the IDX label file holds no labels");
  std::vector<int32_t> y(n);
  for (uint32_t i = 0; i < n; ++i) y[i] = static_cast<unsigned char>(b[8 + i]);
  return y;
}

Embeddings read_idx_pixels(const std::string& path) {
  const std::string b = read_gzip(path);
  if (b.size() < 16 || be32(b, 0) != 0x00000803u)
    throw Error(path + ": not an IDX image file (expected magic 0x00000803)");
  const uint64_t n = be32(b, 4), h = be32(b, 8), w = be32(b, 12);
  if (b.size() != 16 + n * h * w)
    throw Error(path + ": IDX header says " + std::to_string(n) + " images of " + std::to_string(h) + "×" +
                std::to_string(w) + ", the payload has " + std::to_string(b.size() - 16) + " bytes");
  Embeddings e;
  e.rows = static_cast<int64_t>(n);
  e.cols = static_cast<int64_t>(h * w);
  e.values.resize(n * h * w);
  for (size_t i = 0; i < e.values.size(); ++i) e.values[i] = static_cast<unsigned char>(b[16 + i]) / 255.0f;
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
    int w = 0, h = 0, c = 0;
    unsigned char* img = stbi_load(path.c_str(), &w, &h, &c, 3);
    if (!img) {
      errors[i] = path + ": cannot decode image (" + std::string(stbi_failure_reason()) + ")";
      return;
    }
    std::vector<unsigned char> small(static_cast<size_t>(e.cols));
    const int ok = stbir_resize_uint8(img, w, h, 0, small.data(), side, side, 0, 3);
    stbi_image_free(img);
    if (!ok) {
      errors[i] = path + ": cannot resize image";
      return;
    }
    for (int64_t j = 0; j < e.cols; ++j) e.values[i * e.cols + j] = small[j] / 255.0f;
  });
  for (size_t i = 0; i < errors.size(); ++i)
    if (!errors[i].empty())
      throw Error(errors[i] + " (list line " + std::to_string(i + 1) +
                  "; small-cluster noise needs every image, or pass --features F.npy)");
  return e;
}

}  // namespace prism::cli
