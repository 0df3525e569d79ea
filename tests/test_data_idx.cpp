// IDX / gzip reading and the Fashion-MNIST dataset: synthetic files for every error path, plus the installed
// Debian dataset when it is present.
#include <catch2/catch.hpp>

#include <filesystem>
#include <numeric>

#include "data_fixtures.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/datasets.hpp"
#include "prism/data/idx.hpp"

using namespace prism;
using prism::testing::TempDir;

namespace {
std::string be32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
}
// IDX bytes for n images of r × c with pixel (k, i) = (k * 31 + i) % 256.
std::string idx_images(uint32_t n, uint32_t r, uint32_t c) {
  std::string s = std::string("\0\0\x08\x03", 4) + be32(n) + be32(r) + be32(c);
  for (uint32_t k = 0; k < n; ++k)
    for (uint32_t i = 0; i < r * c; ++i) s.push_back(static_cast<char>((k * 31 + i) % 256));
  return s;
}
std::string idx_labels(const std::vector<uint8_t>& labels) {
  std::string s = std::string("\0\0\x08\x01", 4) + be32(static_cast<uint32_t>(labels.size()));
  for (uint8_t l : labels) s.push_back(static_cast<char>(l));
  return s;
}
void write_fmnist(const TempDir& dir, const std::string& prefix, uint32_t n,
                  const std::vector<uint8_t>& labels) {
  testing::write_bytes(dir / (prefix + "-images-idx3-ubyte.gz"), testing::gzip_bytes(idx_images(n, 28, 28)));
  testing::write_bytes(dir / (prefix + "-labels-idx1-ubyte.gz"), testing::gzip_bytes(idx_labels(labels)));
}
}  // namespace

TEST_CASE("idx: parses a gzip-compressed image file", "[data]") {
  TempDir dir;
  testing::write_bytes(dir / "img.gz", testing::gzip_bytes(idx_images(3, 2, 4)));
  IdxArray a = read_idx(dir / "img.gz", 3);
  REQUIRE(a.dims == std::vector<int64_t>{3, 2, 4});
  REQUIRE(a.data.size() == 24);
  for (size_t k = 0; k < 3; ++k)
    for (size_t i = 0; i < 8; ++i) {
      CAPTURE(k, i);
      REQUIRE(a.data[k * 8 + i] == (k * 31 + i) % 256);
    }
  // The same content unpacked reads the same (gzread passes plain files through).
  testing::write_bytes(dir / "img", idx_images(3, 2, 4));
  REQUIRE(read_idx(dir / "img", 3).data == a.data);
}

TEST_CASE("idx: strict header and payload checks name the file", "[data]") {
  TempDir dir;
  const std::string good = idx_images(2, 3, 3);
  auto expect_error = [&](const std::string& bytes, const std::string& what, int dims = 3) {
    const std::string path = dir / "bad.gz";
    testing::write_bytes(path, testing::gzip_bytes(bytes));
    CAPTURE(what);
    REQUIRE_THROWS_WITH(read_idx(path, dims), Catch::Contains(path) && Catch::Contains(what));
  };
  std::string bad_magic = good;
  bad_magic[0] = 1;
  expect_error(bad_magic, "bad magic");
  std::string bad_type = good;
  bad_type[2] = 0x0D;
  expect_error(bad_type, "0x0d");
  expect_error(good, "dimensions", 1);
  expect_error(good.substr(0, good.size() - 1), "truncated IDX payload");
  expect_error(good.substr(0, 10), "truncated IDX header");
  expect_error(good + "xy", "trailing");
}

TEST_CASE("idx: truncated or corrupt gzip streams are errors", "[data]") {
  TempDir dir;
  const std::string gz = testing::gzip_bytes(idx_images(50, 28, 28));
  REQUIRE(gz.size() > 200);
  for (size_t cut : {gz.size() - 4, gz.size() / 2, size_t(30)}) {
    CAPTURE(cut, gz.size());
    testing::write_bytes(dir / "cut.gz", gz.substr(0, cut));
    REQUIRE_THROWS_WITH(read_gz_file(dir / "cut.gz"),
                        Catch::Contains(dir / "cut.gz") && Catch::Contains("truncated gzip"));
  }
  std::string corrupt = gz;
  corrupt[gz.size() - 6] ^= 0x5a;  // inside the CRC32 trailer
  testing::write_bytes(dir / "crc.gz", corrupt);
  REQUIRE_THROWS_WITH(read_gz_file(dir / "crc.gz"), Catch::Contains("corrupt"));
  REQUIRE_THROWS_WITH(read_gz_file(dir / "missing.gz"), Catch::Contains("no such file"));
}

TEST_CASE("fashion-mnist: reads a synthetic directory, normalises and flips", "[data]") {
  TempDir dir;
  write_fmnist(dir, "train", 4, {0, 1, 2, 9});
  write_fmnist(dir, "t10k", 2, {5, 6});
  FashionMnistTransform t;
  t.mean = 0.25f;
  t.std = 0.5f;
  t.flip_prob = 1.0f;
  DatasetPtr train = open_fashion_mnist(dir.path.string(), true, t);
  DatasetPtr test = open_fashion_mnist(dir.path.string(), false, t);
  REQUIRE(train->size() == 4);
  REQUIRE(test->size() == 2);
  REQUIRE(train->labels() == std::vector<int32_t>{0, 1, 2, 9});
  REQUIRE(train->num_classes() == 10);
  REQUIRE(train->sample_shape() == Shape{1, 28, 28});

  Batch plain = train->load_batch({2}, false, 0, 0);
  Batch flipped = train->load_batch({2}, true, 0, 0);
  REQUIRE(plain.inputs.shape() == Shape{1, 1, 28, 28});
  const auto a = plain.inputs.to_vector(), b = flipped.inputs.to_vector();
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) {
      const uint8_t raw = static_cast<uint8_t>((2 * 31 + y * 28 + x) % 256);
      CAPTURE(y, x);
      REQUIRE(a[y * 28 + x] == (raw / 255.0f - 0.25f) / 0.5f);
      REQUIRE(b[y * 28 + x] == a[y * 28 + (27 - x)]);
    }
  REQUIRE(plain.labels.to_vector_i32() == std::vector<int32_t>{2});
}

TEST_CASE("fashion-mnist: missing directory, count mismatch and bad labels are errors", "[data]") {
  TempDir dir;
  REQUIRE_THROWS_WITH(read_fashion_mnist(dir / "nope", true),
                      Catch::Contains("nope") && Catch::Contains("dataset-fashion-mnist"));
  REQUIRE_THROWS_WITH(read_fashion_mnist(dir.path.string(), true),
                      Catch::Contains("train-images-idx3-ubyte"));
  write_fmnist(dir, "train", 3, {1, 2});
  REQUIRE_THROWS_WITH(read_fashion_mnist(dir.path.string(), true),
                      Catch::Contains("3 images") && Catch::Contains("2 labels"));
  write_fmnist(dir, "train", 2, {1, 12});
  REQUIRE_THROWS_WITH(read_fashion_mnist(dir.path.string(), true),
                      Catch::Contains("label 12") && Catch::Contains("train-labels-idx1-ubyte"));
}

TEST_CASE("fashion-mnist: the installed Debian dataset (when present)", "[data]") {
  std::error_code ec;
  if (!std::filesystem::is_directory(kFashionMnistDefaultRoot, ec)) {
    WARN("dataset-fashion-mnist is not installed; skipping the real-data check");
    return;
  }
  FashionMnistRaw train = read_fashion_mnist(kFashionMnistDefaultRoot, true);
  FashionMnistRaw test = read_fashion_mnist(kFashionMnistDefaultRoot, false);
  REQUIRE(train.count == 60000);
  REQUIRE(test.count == 10000);
  REQUIRE(train.rows == 28);
  REQUIRE(train.cols == 28);
  std::vector<int64_t> hist(10, 0);
  for (int32_t l : train.labels) ++hist[l];
  for (int c = 0; c < 10; ++c) REQUIRE(hist[c] == 6000);
  // The documented normalisation constants are the training set's statistics (to the digits stated).
  double sum = 0, sq = 0;
  for (uint8_t p : train.pixels) {
    sum += p / 255.0;
    sq += (p / 255.0) * (p / 255.0);
  }
  const double n = static_cast<double>(train.pixels.size());
  const double mean = sum / n, stdev = std::sqrt(sq / n - mean * mean);
  REQUIRE(std::abs(mean - kFashionMnistMean) < 1e-4);
  REQUIRE(std::abs(stdev - kFashionMnistStd) < 1e-4);
}
