// .npy round trip, checked by an independent reader written here from the format's description (NEP 1:
// magic "\x93NUMPY", version, little-endian header length, a Python-literal dict padded with spaces to a
// multiple of 64 bytes and ended by '\n', then the C-order data) — not by our own reader's assumptions; plus
// files that numpy itself wrote (tests/data/dml, made by tests/reference/make_dml_golden.py).
#include <unistd.h>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "prism/core/io.hpp"
#include "prism/data/npy.hpp"
#include "train_test_util.hpp"

using namespace prism;

namespace {
struct RawNpy {
  int major = 0, minor = 0;
  std::string header;
  std::string data;
};

RawNpy parse_by_hand(const std::string& b) {
  RawNpy r;
  REQUIRE(b.size() >= 10);
  REQUIRE(b.compare(0, 6, "\x93NUMPY") == 0);
  r.major = static_cast<unsigned char>(b[6]);
  r.minor = static_cast<unsigned char>(b[7]);
  REQUIRE(r.major == 1);
  const size_t len =
      static_cast<unsigned char>(b[8]) | (static_cast<size_t>(static_cast<unsigned char>(b[9])) << 8);
  REQUIRE(b.size() >= 10 + len);
  r.header = b.substr(10, len);
  r.data = b.substr(10 + len);
  return r;
}
}  // namespace

TEST_CASE("npy: our files follow the format (independent reader)", "[data][npy]") {
  const std::string dir = prism::testing::fresh_scratch_dir("npy_test", "files");
  make_directories(dir);
  const std::vector<float> values = {1.5f, -2.0f, 0.0f, 3.25f, 1e-30f, -7.0f};
  write_npy_f32(dir + "/m.npy", {2, 3}, values);
  const RawNpy f = parse_by_hand(read_file(dir + "/m.npy"));
  INFO("header: " << f.header);
  CHECK((10 + f.header.size()) % 64 == 0);
  CHECK(f.header.back() == '\n');
  CHECK(f.header.find("'descr': '<f4'") != std::string::npos);
  CHECK(f.header.find("'fortran_order': False") != std::string::npos);
  CHECK(f.header.find("'shape': (2, 3)") != std::string::npos);
  REQUIRE(f.data.size() == values.size() * 4);
  CHECK(std::memcmp(f.data.data(), values.data(), f.data.size()) == 0);

  const std::vector<int32_t> labels = {3, 0, 7};
  write_npy_i32(dir + "/l.npy", labels);
  const RawNpy g = parse_by_hand(read_file(dir + "/l.npy"));
  INFO("header: " << g.header);
  CHECK(g.header.find("'descr': '<i4'") != std::string::npos);
  CHECK(g.header.find("'shape': (3,)") != std::string::npos);  // a 1-tuple keeps its comma
  REQUIRE(g.data.size() == 12);
  CHECK(std::memcmp(g.data.data(), labels.data(), 12) == 0);

  // And our reader gives back what was written.
  const NpyMatrix m = read_npy_f32_matrix(dir + "/m.npy");
  CHECK(m.rows == 2);
  CHECK(m.cols == 3);
  CHECK(m.values == values);
  CHECK(read_npy_labels(dir + "/l.npy") == labels);
}

TEST_CASE("npy: files written by numpy are read", "[data][npy]") {
  // tests/reference/make_dml_golden.py saves meta = [MAGIC, VERSION, n, m, d] (int32), n x d and m x d
  // unit-norm float32 rows, int32 batch labels and keep flags, int64 memory labels, 1-element float32 losses.
  const std::string dir = std::string(PRISM_TEST_DATA_DIR) + "/dml/contrastive_";
  int seen = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(PRISM_TEST_DATA_DIR) + "/dml")) {
    if (e.path().extension() != ".npy") continue;
    INFO(e.path().string());
    // Our reader's data is byte for byte what the independent reader finds after the header.
    const RawNpy raw = parse_by_hand(read_file(e.path().string()));
    const NpyArray a = read_npy(e.path().string());
    REQUIRE(raw.data.size() >= a.data.size());
    CHECK(raw.data.compare(0, a.data.size(), a.data) == 0);
    ++seen;
  }
  CHECK(seen ==
        28);  // 10 contrastive_*, 10 ms_* and 8 softtriple_* files (make_dml_golden.py, make_loss_golden.py)

  const NpyArray meta = read_npy(dir + "meta.npy");
  REQUIRE(meta.type == NpyType::i32);
  REQUIRE(meta.shape == std::vector<int64_t>{5});
  std::vector<int32_t> m(5);
  std::memcpy(m.data(), meta.data.data(), 20);
  CHECK(m == std::vector<int32_t>{0x50524953, 1, 12, 40, 16});  // "PRIS", version 1, n = 12, m = 40, d = 16

  for (const auto& [name, rows] : {std::pair<const char*, int64_t>{"emb", 12}, {"memory", 40}}) {
    INFO(name);
    const NpyMatrix x = read_npy_f32_matrix(dir + name + ".npy");
    REQUIRE(x.rows == rows);
    REQUIRE(x.cols == 16);
    for (int64_t r = 0; r < x.rows; ++r) {
      double ss = 0;
      for (int64_t c = 0; c < x.cols; ++c) ss += double(x.values[r * 16 + c]) * x.values[r * 16 + c];
      CAPTURE(r);
      CHECK(std::abs(std::sqrt(ss) - 1.0) < 1e-6);  // float64 unit rows rounded to float32
    }
  }
  for (const char* name : {"batch_grad", "memory_grad"}) {
    const NpyMatrix g = read_npy_f32_matrix(dir + name + ".npy");
    CHECK((g.rows == 12 && g.cols == 16));
  }
  const std::vector<int32_t> labels = read_npy_labels(dir + "labels.npy");
  const std::vector<int32_t> memory_labels = read_npy_labels(dir + "memory_labels.npy");  // int64 on disk
  CHECK(labels.size() == 12);
  CHECK(memory_labels.size() == 40);
  CHECK(read_npy(dir + "memory_labels.npy").type == NpyType::i64);
  const std::vector<int32_t> keep = read_npy_labels(dir + "keep.npy");
  REQUIRE(keep.size() == 12);
  for (int32_t k : keep) CHECK((k == 0 || k == 1));
  for (const char* name : {"batch_loss", "memory_loss"}) {
    const NpyMatrix l = read_npy_f32_matrix(dir + name + ".npy");
    REQUIRE(l.values.size() == 1);
    CHECK(l.values[0] > 0.0f);  // both losses have active pairs by construction
  }
}
