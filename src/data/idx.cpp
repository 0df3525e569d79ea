// IDX / gzip reading and the raw Fashion-MNIST splits (reference code).
#include "prism/data/idx.hpp"

#include <zlib.h>

#include <cstdio>
#include <filesystem>

#include "prism/core/checked.hpp"
#include "prism/core/runtime.hpp"

namespace prism {

std::vector<uint8_t> read_gz_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error("cannot read '" + path + "': it is a directory");
  if (!fs::is_regular_file(path, ec)) throw Error("cannot open '" + path + "': no such file");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error("cannot open '" + path + "'");
  gzbuffer(f, 1 << 17);
  std::vector<uint8_t> out;
  // 64 KiB per gzread: inflating, not the copy, bounds the speed, and a small file then does not cost a
  // zeroed megabyte (fuzz_idx reads thousands of them a second).
  std::vector<uint8_t> chunk(1 << 16);
  for (;;) {
    int n = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int err = 0;
      std::string why = gzerror(f, &err);
      gzclose(f);
      throw Error(path + ": corrupt or truncated gzip data (" + why + ")");
    }
    if (n == 0) break;
    out.insert(out.end(), chunk.begin(), chunk.begin() + n);
  }
  // gzread returns 0 both at a clean end and when the input stops mid-stream; only gzerror tells them apart.
  int err = Z_OK;
  std::string why = gzerror(f, &err);
  gzclose(f);
  if (err != Z_OK && err != Z_STREAM_END)
    throw Error(path + ": corrupt or truncated gzip data (" + why + ")");
  return out;
}

IdxArray parse_idx(const std::vector<uint8_t>& bytes, const std::string& name, int expect_dims) {
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0)
    throw Error(name + ": not an IDX file (bad magic; expected 00 00 <type> <ndims>)");
  if (bytes[2] != 0x08) {
    char code[8];
    std::snprintf(code, sizeof code, "0x%02x", bytes[2]);
    throw Error(name + ": IDX element type " + code + " is not supported (only unsigned byte, 0x08)");
  }
  const int ndims = bytes[3];
  if (ndims < 1 || (expect_dims > 0 && ndims != expect_dims))
    throw Error(name + ": IDX file has " + std::to_string(ndims) + " dimensions, expected " +
                std::to_string(expect_dims));
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (bytes.size() < header) throw Error(name + ": truncated IDX header");
  IdxArray a;
  for (int d = 0; d < ndims; ++d) {
    const uint8_t* p = bytes.data() + 4 + 4 * d;
    const uint64_t v =
        (uint64_t(p[0]) << 24) | (uint64_t(p[1]) << 16) | (uint64_t(p[2]) << 8) | uint64_t(p[3]);
    a.dims.push_back(static_cast<int64_t>(v));
  }
  // Each dimension is 32-bit, but their product can wrap 64 bits and pass the size check below.
  const uint64_t numel = static_cast<uint64_t>(checked_bytes(a.dims, 1, name + ": IDX header"));
  const uint64_t have = bytes.size() - header;
  if (have < numel)
    throw Error(name + ": truncated IDX payload: header promises " + std::to_string(numel) +
                " bytes, file has " + std::to_string(have));
  if (have > numel)
    throw Error(name + ": IDX payload has " + std::to_string(have - numel) + " unexpected trailing bytes");
  a.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return a;
}

IdxArray read_idx(const std::string& path, int expect_dims) {
  return parse_idx(read_gz_file(path), path, expect_dims);
}

namespace {
// Prefers the compressed file (as the Debian package ships it) and falls back to an unpacked copy.
std::string find_idx(const std::string& dir, const std::string& stem) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const std::string& candidate : {stem + ".gz", stem})
    if (fs::is_regular_file(fs::path(dir) / candidate, ec)) return (fs::path(dir) / candidate).string();
  throw Error(
      "Fashion-MNIST: '" + (fs::path(dir) / (stem + ".gz")).string() +
      "' not found (set DATA.ROOT to the directory holding the IDX files; on Debian/Ubuntu install the "
      "package dataset-fashion-mnist)");
}
}  // namespace

FashionMnistRaw read_fashion_mnist(const std::string& dir, bool train) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(
        "Fashion-MNIST: directory '" + dir +
        "' does not exist (set DATA.ROOT; on Debian/Ubuntu install the package dataset-fashion-mnist)");
  const std::string prefix = train ? "train" : "t10k";
  const std::string images_path = find_idx(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_idx(dir, prefix + "-labels-idx1-ubyte");
  IdxArray images = read_idx(images_path, 3);
  IdxArray labels = read_idx(labels_path, 1);
  if (images.dims[0] != labels.dims[0])
    throw Error("Fashion-MNIST: '" + images_path + "' holds " + std::to_string(images.dims[0]) +
                " images but '" + labels_path + "' holds " + std::to_string(labels.dims[0]) + " labels");
  FashionMnistRaw raw;
  raw.count = images.dims[0];
  raw.rows = images.dims[1];
  raw.cols = images.dims[2];
  raw.pixels = std::move(images.data);
  raw.labels.resize(labels.data.size());
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] > 9)
      throw Error(labels_path + ": label " + std::to_string(labels.data[i]) + " at index " +
                  std::to_string(i) + " is out of range (Fashion-MNIST labels are 0-9)");
    raw.labels[i] = labels.data[i];
  }
  return raw;
}

}  // namespace prism
