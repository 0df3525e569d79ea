// Helpers for the data tests: a temporary directory removed on exit, small files, synthetic images and gzip
// files.
#pragma once
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "prism/data/image.hpp"

namespace prism::testing {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "prism_data_test_XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::string gzip_bytes(const std::string& raw) {
  z_stream s{};
  if (deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflate");
  std::string out(deflateBound(&s, raw.size()) + 64, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  s.avail_in = static_cast<uInt>(raw.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

// A w × h RGB image with a distinct value per pixel and channel (so crops and flips are recognisable).
inline Image pattern_image(int w, int h, int seed = 0) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = img.at(y, x);
      p[0] = static_cast<uint8_t>((x * 7 + seed) & 0xff);
      p[1] = static_cast<uint8_t>((y * 5 + 3 * seed) & 0xff);
      p[2] = static_cast<uint8_t>((x + y + 11 * seed) & 0xff);
    }
  return img;
}

inline Image solid_image(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (size_t p = 0; p < static_cast<size_t>(w) * h; ++p) {
    img.pixels[3 * p] = r;
    img.pixels[3 * p + 1] = g;
    img.pixels[3 * p + 2] = b;
  }
  return img;
}

// A CUB-200-2011 layout folder (images.txt, image_class_labels.txt, images/<c>/<k>.png) of `classes` classes ×
// `per_class` procedural 40 × 36 PNGs, ids and classes from 1; the ResNet end-to-end test and the ResNet
// `prism check` tests read it with DATA.DATASET=cub, DATA.SPLIT=open (the first half of the classes train).
inline void write_cub_folder(const std::filesystem::path& root, int classes, int per_class) {
  std::string images, labels;
  int id = 1;
  for (int c = 1; c <= classes; ++c)
    for (int i = 0; i < per_class; ++i, ++id) {
      const std::string rel = std::to_string(c) + "/" + std::to_string(i) + ".png";
      write_bytes((root / "images" / rel).string(), encode_png(pattern_image(40, 36, 17 * c + i)));
      images += std::to_string(id) + " " + rel + "\n";
      labels += std::to_string(id) + " " + std::to_string(c) + "\n";
    }
  write_bytes((root / "images.txt").string(), images);
  write_bytes((root / "image_class_labels.txt").string(), labels);
}

}  // namespace prism::testing
