// IDX files (the MNIST / Fashion-MNIST container: big-endian header, then raw u8 data), read through zlib so
// both
// `*.gz` and unpacked files work. Reference code; strict: bad magic, truncated gzip or payload and trailing
// bytes are errors that name the file. Also the raw Fashion-MNIST splits (train 60 000 / test 10 000, 28×28
// u8 + labels).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace prism {

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28} for images, {60000} for labels
  std::vector<uint8_t> data;  // C order
};

// Reads an IDX file of unsigned bytes (type code 0x08), gzip-compressed or not. `expect_dims` > 0 demands
// that many dimensions (3 for images, 1 for labels).
IdxArray read_idx(const std::string& path, int expect_dims = 0);
IdxArray parse_idx(const std::vector<uint8_t>& bytes, const std::string& name, int expect_dims = 0);

// The whole decompressed content of a gzip (or plain) file; truncated or corrupt gzip streams are errors.
std::vector<uint8_t> read_gz_file(const std::string& path);

// One Fashion-MNIST split as stored: n images of rows × cols u8 pixels and their labels 0–9.
struct FashionMnistRaw {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // [count, rows, cols]
  std::vector<int32_t> labels;  // [count]
};

// Where the Debian package dataset-fashion-mnist installs the files.
inline constexpr const char* kFashionMnistDefaultRoot = "/usr/share/datasets/fashion-mnist";

// Mean and std of the 60 000 training images' pixels scaled to [0, 1], measured over all 47 040 000 pixels:
// 0.286041 and 0.353024 (population std); rounded as commonly quoted.
inline constexpr float kFashionMnistMean = 0.2860f;
inline constexpr float kFashionMnistStd = 0.3530f;

// Reads `<dir>/train-images-idx3-ubyte(.gz)` + labels (train = true) or the `t10k-` pair (train = false).
// Missing directory or files, count mismatches between images and labels, and labels > 9 are errors naming
// the file.
FashionMnistRaw read_fashion_mnist(const std::string& dir, bool train);

}  // namespace prism
