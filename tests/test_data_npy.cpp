// .npy round trip, checked by an independent reader written here from the format's description (NEP 1:
// magic "\x93NUMPY", version, little-endian header length, a Python-literal dict padded with spaces to a
// multiple of 64 bytes and ended by '\n', then the C-order data) — not by our own reader's assumptions; plus
// files that numpy itself wrote (tests/data/dml, made by tests/reference/make_dml_golden.py).
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "prism/core/io.hpp"
#include "prism/data/npy.hpp"

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
  const std::string dir = (std::filesystem::temp_directory_path() / "prism_npy_test").string();
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
  int seen = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(PRISM_TEST_DATA_DIR) + "/dml")) {
    if (e.path().extension() != ".npy") continue;
    INFO(e.path().string());
    const NpyArray a = read_npy(e.path().string());
    CHECK(a.numel() >= 1);  // 0-d arrays (scalars) have an empty shape and one element
    CHECK(static_cast<int64_t>(a.data.size()) >= a.numel());
    ++seen;
  }
  CHECK(seen > 0);
}
