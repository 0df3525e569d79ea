// Regression tests of issue 9 (hardening): malformed input from an adversarial probe (wrapping shapes, .npy
// headers, truncated images, CSV edge cases, partial outputs, CLI numbers, environment, config messages).
// Each asserts one line naming the file, line, key or flag, and an exit code 1–127.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "data_fixtures.hpp"
#include "dml_test_util.hpp"
#include "prism/core/checked.hpp"
#include "prism/core/io.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/datasets.hpp"
#include "prism/data/idx.hpp"
#include "prism/data/image.hpp"
#include "prism/data/list.hpp"
#include "prism/data/npy.hpp"
#include "prism/data/safetensors.hpp"
#include "prism/train/config.hpp"
#include "prism/train/data_setup.hpp"

using namespace prism;
using Catch::Contains;
using prism::testing::TempDir;
using prism::testing::write_bytes;

namespace {

// A .npy file (format 1.0) with `dict` as its header, padded like numpy pads it, followed by `data`.
std::string raw_npy(const std::string& dict, const std::string& data) {
  std::string header = dict;
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  return out + header + data;
}

std::string npy_with_shape(const std::string& shape, size_t data_bytes, const std::string& descr = "<f4") {
  return raw_npy("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }",
                 std::string(data_bytes, '\0'));
}

// The error message of parse_npy on `bytes`, or "" when it parsed.
std::string npy_error(const std::string& bytes) {
  try {
    parse_npy(bytes, "bad.npy");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The one-line contract of a CLI failure: exit code 1–127 (not a signal, not 0), exactly one line of output
// starting "prism: error:", containing every `needle`, and no raw library text.
void require_one_line_error(const dmltest::RunResult& r, const std::vector<std::string>& needles) {
  INFO("exit code " << r.code << ", output:\n" << r.out);
  REQUIRE(r.code >= 1);
  REQUIRE(r.code <= 127);
  REQUIRE(!r.out.empty());
  REQUIRE(r.out.back() == '\n');
  REQUIRE(r.out.find('\n') == r.out.size() - 1);
  REQUIRE(r.out.rfind("prism: error: ", 0) == 0);
  for (const std::string& n : needles) REQUIRE_THAT(r.out, Contains(n));
  for (const char* raw : {"stoll", "_M_default_append", "bad_alloc", "[json.exception", "Not a PNG"})
    REQUIRE_THAT(r.out, !Contains(raw));
}

std::string q(const std::string& s) {
  return "'" + s + "'";
}

// A small valid eval input pair in `dir`: 4 float32 rows of 2 and int32 labels.
void write_eval_inputs(const TempDir& dir) {
  write_npy_f32(dir / "e.npy", {4, 2}, {1, 0, 0, 1, 1, 0.1f, 0.1f, 1});
  write_npy_i32(dir / "l.npy", {0, 1, 0, 1});
}

}  // namespace

// ---- checked size arithmetic (include/prism/core/checked.hpp)

TEST_CASE("checked: products that overflow, negative dimensions and narrowing are errors", "[hardening]") {
  CHECK(checked_numel({3, 4, 5}, "f") == 60);
  CHECK(checked_numel({}, "f") == 1);
  CHECK(checked_numel({7, 0, int64_t(1) << 62}, "f") == 0);
  REQUIRE_THROWS_WITH(checked_numel({16, (int64_t(1) << 60) + 1}, "x.npy"),
                      Contains("x.npy") && Contains("overflows"));
  REQUIRE_THROWS_WITH(checked_numel({-20, 4}, "x.npy"), Contains("x.npy") && Contains("negative"));
  // Fits as an element count, wraps as a byte count.
  CHECK(checked_numel({int64_t(1) << 62}, "t") == int64_t(1) << 62);
  REQUIRE_THROWS_WITH(checked_bytes({int64_t(1) << 62}, 4, "t"), Contains("t: ") && Contains("overflows"));
  CHECK(checked_bytes({2, 3}, 8, "t") == 48);
  CHECK(checked_narrow<int>(int64_t(2147483647), "K") == 2147483647);
  REQUIRE_THROWS_WITH(checked_narrow<int>(int64_t(3000000000), "INPUT.ORIGIN_SIZE"),
                      Contains("INPUT.ORIGIN_SIZE") && Contains("3000000000"));
}

// ---- .npy header

TEST_CASE("npy hardening: a shape whose byte size wraps is rejected, not read", "[hardening][npy]") {
  // 16 x (2^60 + 1) float32 = 2^66 + 64 bytes: wrapped to 64 it passed the size check.
  const std::string msg = npy_error(npy_with_shape("(16, 1152921504606846977)", 64));
  INFO(msg);
  REQUIRE_THAT(msg, Contains("bad.npy") && Contains("overflows"));
  // A dimension beyond int64 is an error too, not std::stoll's exception.
  REQUIRE_THAT(npy_error(npy_with_shape("(99999999999999999999,)", 0)),
               Contains("bad.npy") && Contains("too large"));
}

TEST_CASE("npy hardening: the header dict is parsed strictly", "[hardening][npy]") {
  struct Case {
    std::string dict, expect;
  };
  const std::vector<Case> cases = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-20, 4), }", "negative dimension"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': 'abc20def4', }", "must be a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (a20, 4), }", "must be integers"},
      {"{'descr': '<f4', 'fortran_order': 'yes', 'shape': (2, 4), }", "True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4, }", "unclosed '('"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4", "unclosed '('"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 4), }", "expected ',' or ')'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (8), }", "not a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, }", "no 'shape'"},
      {"{'descr': '<f4', 'shape': (8,), }", "no 'fortran_order'"},
      {"{'fortran_order': False, 'shape': (8,), }", "no 'descr'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (8,), }", "appears twice"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (8,), 'extra': 1, }", "unexpected key 'extra'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (8,), } trailing", "after the closing"},
      {"{'descr': <f4, 'fortran_order': False, 'shape': (8,), }", "quoted dtype"},
      {"{'descr': '<f4 'fortran_order': False, 'shape': (8,), }", "expected ',' or '}'"},
      {"'descr': '<f4', 'fortran_order': False, 'shape': (8,), }", "must start with '{'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (8,) ", "expected ',' or '}'"},
  };
  for (const Case& c : cases) {
    const std::string msg = npy_error(raw_npy(c.dict, std::string(64, '\0')));
    INFO("header " << c.dict << "\nmessage: " << msg);
    CHECK_THAT(msg, Contains("bad.npy: malformed .npy header") && Contains(c.expect));
  }
  // Fortran order is well-formed but unsupported: named as such.
  CHECK_THAT(
      npy_error(raw_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", std::string(16, 0))),
      Contains("Fortran"));
}

TEST_CASE("npy hardening: every header numpy can write still reads", "[hardening][npy]") {
  const std::string data(24, '\0');
  struct Case {
    std::string dict;
    std::vector<int64_t> shape;
  };
  const std::vector<Case> cases = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", {2, 3}},
      {"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}",
       {2, 3}},                                                          // other quotes, no comma
      {"{'shape': (6,), 'fortran_order': False, 'descr': '<f4'}", {6}},  // any key order
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", {}},   // a 0-d scalar
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3,), }", {1, 2, 3}},
      {"{'descr':'<f4','fortran_order':False,'shape':(0, 5)}", {0, 5}},
  };
  for (const Case& c : cases) {
    INFO(c.dict);
    const NpyArray a = parse_npy(raw_npy(c.dict, data), "ok.npy");
    CHECK(a.shape == c.shape);
    CHECK(a.type == NpyType::f32);
  }
}

TEST_CASE("npy hardening: prism eval / select on a wrapping shape fail with the file named",
          "[hardening][cli]") {
  TempDir dir;
  write_eval_inputs(dir);
  write_bytes(dir / "wrap.npy", npy_with_shape("(16, 1152921504606846977)", 64));
  require_one_line_error(
      dmltest::run_prism("eval --embeddings " + q(dir / "wrap.npy") + " --labels " + q(dir / "l.npy")),
      {"wrap.npy", "overflows"});
  write_bytes(dir / "neg.npy", npy_with_shape("(-20, 4)", 320));
  require_one_line_error(
      dmltest::run_prism("select --memory-embeddings " + q(dir / "neg.npy") + " --memory-labels " +
                         q(dir / "l.npy") + " --embeddings " + q(dir / "e.npy") + " --labels " +
                         q(dir / "l.npy") + " --num-classes 2 --noise-rate 0.25"),
      {"neg.npy", "negative dimension"});
  // Defect 8b: finite but huge rows with --no-normalize overflowed the similarities and the samples were
  // removed on NaN probabilities without a word.
  write_npy_f32(dir / "huge.npy", {4, 2}, {3e38f, 3e38f, -3e38f, 3e38f, 3e38f, -3e38f, 1e38f, 1e38f});
  require_one_line_error(
      dmltest::run_prism("select --memory-embeddings " + q(dir / "huge.npy") + " --memory-labels " +
                         q(dir / "l.npy") + " --embeddings " + q(dir / "huge.npy") + " --labels " +
                         q(dir / "l.npy") + " --num-classes 2 --noise-rate 0.25 --no-normalize"),
      {"huge.npy", "overflow", "--no-normalize"});
  // A directory where a file is expected is named as a directory (it read as an empty file).
  require_one_line_error(
      dmltest::run_prism("eval --embeddings " + q(dir.path.string()) + " --labels " + q(dir / "l.npy")),
      {dir.path.string(), "is a directory"});
}

// ---- IDX and safetensors

namespace {
std::string idx_header(const std::vector<uint32_t>& dims) {
  std::string b = {'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<char>((d >> s) & 0xff));
  return b;
}
}  // namespace

TEST_CASE("idx hardening: a dimension product that wraps to 0 is rejected", "[hardening][idx]") {
  // 2^22 * 2^21 * 2^21 = 2^64, which wrapped to 0 and matched an empty payload.
  const std::string b = idx_header({1u << 22, 1u << 21, 1u << 21});
  const std::vector<uint8_t> bytes(b.begin(), b.end());
  REQUIRE_THROWS_WITH(parse_idx(bytes, "wrap-idx3-ubyte", 3),
                      Contains("wrap-idx3-ubyte") && Contains("overflows"));
  // The same header with a small product still reads.
  const std::string ok = idx_header({2, 1, 3}) + std::string("\x01\x02\x03\x04\x05\x06", 6);
  const IdxArray a = parse_idx(std::vector<uint8_t>(ok.begin(), ok.end()), "ok", 3);
  CHECK(a.dims == std::vector<int64_t>{2, 1, 3});
  CHECK(a.data == std::vector<uint8_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("idx hardening: prism noise --idx-images with a wrapping header fails", "[hardening][cli]") {
  TempDir dir;
  write_bytes(dir / "labels.gz", testing::gzip_bytes(idx_header({4}) + std::string("\x00\x01\x00\x01", 4)));
  write_bytes(dir / "images.gz", testing::gzip_bytes(idx_header({1u << 22, 1u << 21, 1u << 21})));
  require_one_line_error(dmltest::run_prism("noise --idx-labels " + q(dir / "labels.gz") + " --idx-images " +
                                            q(dir / "images.gz") + " --type small-cluster --rate 0.5 --out " +
                                            q(dir / "out.npy")),
                         {"images.gz", "overflows"});
  CHECK(!std::filesystem::exists(dir / "out.npy"));
}

TEST_CASE("safetensors hardening: a byte size that wraps cannot match data_offsets",
          "[hardening][safetensors]") {
  // 2^62 float32 elements = 2^64 bytes, wrapped to 0 = data_offsets [0, 0].
  std::string header = R"({"t":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string bytes(8, '\0');
  for (int b = 0; b < 8; ++b) bytes[b] = static_cast<char>((header.size() >> (8 * b)) & 0xff);
  bytes += header;
  REQUIRE_THROWS_WITH(parse_safetensors(bytes, "wrap.safetensors"),
                      Contains("wrap.safetensors") && Contains("tensor 't'") && Contains("overflows"));
  // A shape entry beyond int64 is named, not read as a negative number.
  std::string big = R"({"t":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}})";
  big.append((8 - big.size() % 8) % 8, ' ');
  std::string b2(8, '\0');
  for (int b = 0; b < 8; ++b) b2[b] = static_cast<char>((big.size() >> (8 * b)) & 0xff);
  REQUIRE_THROWS_WITH(parse_safetensors(b2 + big, "big.safetensors"),
                      Contains("big.safetensors") && Contains("too large"));
}

// ---- images

TEST_CASE("image hardening: every truncation of a JPEG fails the probe and names JPEG",
          "[hardening][image]") {
  TempDir dir;
  const std::string jpeg = encode_jpeg(testing::pattern_image(48, 40, 4), 90);
  const std::string png = encode_png(testing::pattern_image(48, 40, 4));
  write_bytes(dir / "full.jpg", jpeg);
  write_bytes(dir / "full.png", png);
  int w = 0, h = 0;
  REQUIRE(probe_image_file(dir / "full.jpg", &w, &h));
  CHECK((w == 48 && h == 40));
  REQUIRE(probe_image_file(dir / "full.png"));
  // Padding after the end marker (some writers add it) and bytes beyond the probe's tail window are fine:
  // the first still has its marker near the end, the second is decoded in full.
  write_bytes(dir / "padded.jpg", jpeg + std::string(16, '\0'));
  CHECK(probe_image_file(dir / "padded.jpg"));
  write_bytes(dir / "trailing.jpg", jpeg + std::string(1000, 'x'));
  CHECK(probe_image_file(dir / "trailing.jpg"));

  int header_ok = 0;
  for (size_t n = 200; n + 1 < jpeg.size(); n += 7) {
    const std::string cut = jpeg.substr(0, n);
    write_bytes(dir / "cut.jpg", cut);
    std::string why;
    CAPTURE(n);
    REQUIRE(!probe_image_file(dir / "cut.jpg", nullptr, nullptr, &why));
    REQUIRE_THAT(why, Contains("JPEG") && !Contains("PNG"));
    // Decoding names the real format too (stb_image said "Not a PNG" for some cut points).
    REQUIRE_THROWS_WITH(
        decode_image_memory(reinterpret_cast<const uint8_t*>(cut.data()), cut.size(), "cut.jpg"),
        Contains("cut.jpg") && Contains("truncated JPEG") && !Contains("PNG"));
    ++header_ok;
  }
  CHECK(header_ok > 100);
}

TEST_CASE("image hardening: a list with a truncated JPEG is rejected at start-up by entry",
          "[hardening][image]") {
  TempDir dir;
  write_bytes(dir / "img/a.jpg", encode_jpeg(testing::pattern_image(30, 30, 1)));
  const std::string jpeg = encode_jpeg(testing::pattern_image(30, 30, 2));
  write_bytes(dir / "img/cut.jpg", jpeg.substr(0, jpeg.size() * 2 / 3));
  ImageList list;
  list.paths = {"img/a.jpg", "img/cut.jpg"};
  list.labels = {0, 1};
  ImageTransformSpec spec;
  spec.resize = 16;
  spec.crop = 16;
  REQUIRE_THROWS_WITH(
      ImageListDataset(list, {}, dir.path.string(), spec, MissingImagePolicy::error, "train.csv"),
      Contains("train.csv") && Contains("entry 2") && Contains("cut.jpg") && Contains("truncated JPEG"));
}

// ---- CSV lists

TEST_CASE("list hardening: a UTF-8 BOM is not part of the first path", "[hardening][list]") {
  const ImageList l = parse_image_list("\xEF\xBB\xBFimg/a.jpg,3\nimg/b.jpg,4\n", "bom.csv");
  REQUIRE(l.size() == 2);
  CHECK(l.paths[0] == "img/a.jpg");
  CHECK(l.labels == std::vector<int32_t>{3, 4});
  CHECK(l.lines == std::vector<int64_t>{1, 2});
}

TEST_CASE("list hardening: a NUL byte is rejected with file:line", "[hardening][list]") {
  const std::string text = std::string("img/a.jpg,1\nimg/b.jpg") + '\0' + "x.jpg,2\n";
  REQUIRE_THROWS_WITH(parse_image_list(text, "nul.csv"), Contains("nul.csv:2") && Contains("NUL"));
}

TEST_CASE("list hardening: CUB / SOP metadata with a BOM or a NUL byte", "[hardening][list]") {
  TempDir dir;
  write_bytes(dir / "Ebay_train.txt", "\xEF\xBB\xBFimage_id class_id super_class_id path\n1 1 1 a/1.JPG\n");
  write_bytes(dir / "Ebay_test.txt", "image_id class_id super_class_id path\n2 2 1 b/2.JPG\n");
  const ListPair p = read_sop(dir.path.string());
  CHECK(p.train.paths == std::vector<std::string>{"a/1.JPG"});
  write_bytes(dir / "Ebay_test.txt",
              std::string("image_id class_id super_class_id path\n2 2 1 b/2") + '\0' + ".JPG\n");
  REQUIRE_THROWS_WITH(read_sop(dir.path.string()), Contains("Ebay_test.txt:2") && Contains("NUL"));
}

TEST_CASE("list hardening: duplicate paths are matched by the cleaned twin occurrence by occurrence",
          "[hardening][list]") {
  const ImageList noisy = parse_image_list("a.jpg,1\na.jpg,1\nb.jpg,2\na.jpg,3\n", "noisy.csv");
  // One clean copy of a.jpg (label 1): the first is clean, the second copy and the relabelled one are noisy.
  CHECK(noise_flags_from_cleaned(noisy, parse_image_list("a.jpg,1\nb.jpg,2\n", "c.csv"), "c.csv") ==
        std::vector<uint8_t>{0, 1, 0, 1});
  // Both copies clean.
  CHECK(noise_flags_from_cleaned(noisy, parse_image_list("a.jpg,1\na.jpg,1\n", "c.csv"), "c.csv") ==
        std::vector<uint8_t>{0, 0, 1, 1});
  // The label-3 occurrence matched by its label, not by the first path match.
  CHECK(noise_flags_from_cleaned(noisy, parse_image_list("a.jpg,3\n", "c.csv"), "c.csv") ==
        std::vector<uint8_t>{1, 1, 1, 0});
  // More clean copies than noisy ones: an error naming the twin's real line (blank lines counted).
  REQUIRE_THROWS_WITH(
      noise_flags_from_cleaned(noisy, parse_image_list("b.jpg,2\n\nb.jpg,2\n", "c.csv"), "c.csv"),
      Contains("c.csv:3") && Contains("more often"));
  REQUIRE_THROWS_WITH(noise_flags_from_cleaned(noisy, parse_image_list("\nb.jpg,5\n", "c.csv"), "c.csv"),
                      Contains("c.csv:2") && Contains("label 5") && Contains("gives 2"));
  REQUIRE_THROWS_WITH(noise_flags_from_cleaned(noisy, parse_image_list("z.jpg,1\n", "c.csv"), "c.csv"),
                      Contains("c.csv:1") && Contains("z.jpg"));
}

// ---- prism noise outputs

TEST_CASE("noise hardening: a failing output leaves no other output behind", "[hardening][cli]") {
  TempDir dir;
  write_bytes(dir / "list.csv", "a.jpg,0\nb.jpg,0\nc.jpg,1\nd.jpg,1\n");
  const std::string base = "noise --list " + q(dir / "list.csv") + " --type symmetric --rate 0.5 --out " +
                           q(dir / "out.csv") + " --cleaned " + q(dir / "clean.csv");
  require_one_line_error(dmltest::run_prism(base + " --flags " + q(dir / "no/such/dir/flags.npy")),
                         {"flags.npy"});
  CHECK(!std::filesystem::exists(dir / "out.csv"));
  CHECK(!std::filesystem::exists(dir / "clean.csv"));
  // No temp files left either.
  for (const auto& e : std::filesystem::directory_iterator(dir.path))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
  // And all three when they can be written.
  const auto ok = dmltest::run_prism(base + " --flags " + q(dir / "flags.npy"));
  INFO(ok.out);
  REQUIRE(ok.code == 0);
  CHECK(std::filesystem::exists(dir / "out.csv"));
  CHECK(std::filesystem::exists(dir / "clean.csv"));
  CHECK(std::filesystem::exists(dir / "flags.npy"));
}

TEST_CASE("noise hardening: --out equal to --cleaned (or to the input) is rejected", "[hardening][cli]") {
  TempDir dir;
  write_bytes(dir / "list.csv", "a.jpg,0\nb.jpg,1\n");
  const std::string base = "noise --list " + q(dir / "list.csv") + " --type symmetric --rate 0.5";
  require_one_line_error(dmltest::run_prism(base + " --out " + q(dir / "o.csv") + " --cleaned " +
                                            q(dir.path.string() + "/./o.csv")),
                         {"--out", "--cleaned", "same file"});
  CHECK(!std::filesystem::exists(dir / "o.csv"));
  require_one_line_error(dmltest::run_prism(base + " --out " + q(dir / "list.csv")),
                         {"--out", "also an input"});
  CHECK(testing::read_bytes(dir / "list.csv") == "a.jpg,0\nb.jpg,1\n");
}

// ---- CLI numbers, environment, subcommands

TEST_CASE("cli hardening: negative or garbage numbers are errors naming the flag", "[hardening][cli]") {
  TempDir dir;
  write_eval_inputs(dir);
  write_bytes(dir / "c.yaml", "SOLVER:\n  MAX_ITERS: 2\n");
  const std::string train = "train --config " + q(dir / "c.yaml") + " --out " + q(dir / "run");
  require_one_line_error(dmltest::run_prism(train + " --threads -5"), {"--threads"});
  require_one_line_error(dmltest::run_prism(train + " --seed -5"), {"--seed"});
  require_one_line_error(dmltest::run_prism(train + " --stop-after -3"), {"--stop-after"});
  require_one_line_error(dmltest::run_prism(train + " --threads abc"), {"--threads"});
  // A bad --mode / --device is reported against the flag, not as the --set it becomes.
  for (const std::string flag : {"--mode", "--device"}) {
    const auto r = dmltest::run_prism(train + " " + flag + " bogus");
    require_one_line_error(r, {flag, "bogus"});
    CHECK_THAT(r.out, !Contains("--set"));
  }
  CHECK(!std::filesystem::exists(dir / "run"));
  const std::string eval = "eval --embeddings " + q(dir / "e.npy") + " --labels " + q(dir / "l.npy");
  require_one_line_error(dmltest::run_prism(eval + " --threads -1"), {"--threads"});
  require_one_line_error(dmltest::run_prism(eval + " --mode bogus"), {"--mode", "bogus"});
  write_bytes(dir / "list.csv", "a.jpg,0\nb.jpg,1\n");
  // -1 read into the uint64 seed as 2^64 - 1.
  require_one_line_error(
      dmltest::run_prism("noise --list " + q(dir / "list.csv") +
                         " --type symmetric --rate 0.5 --seed -1 --out " + q(dir / "o.csv")),
      {"--seed"});
  require_one_line_error(
      dmltest::run_prism("noise --list " + q(dir / "list.csv") +
                         " --type small-cluster --rate 0.5 --cluster-size 0 --out " + q(dir / "o.csv")),
      {"--cluster-size"});
  CHECK(!std::filesystem::exists(dir / "o.csv"));
}

TEST_CASE("cli hardening: environment variables are parsed strictly and named", "[hardening][cli]") {
  TempDir dir;
  write_eval_inputs(dir);
  const std::string eval = " eval --embeddings " + q(dir / "e.npy") + " --labels " + q(dir / "l.npy");
  const std::string bin = std::string("\"") + PRISM_BINARY_PATH + "\"";
  for (const char* bad : {"abc", "-5", "4x", "99999999999"}) {
    CAPTURE(bad);
    require_one_line_error(dmltest::run_shell(std::string("PRISM_THREADS=") + bad + " " + bin + eval),
                           {"PRISM_THREADS", bad});
  }
  require_one_line_error(dmltest::run_shell("PRISM_MODE=bogus " + bin + eval), {"PRISM_MODE", "bogus"});
  require_one_line_error(dmltest::run_shell("PRISM_DEVICE=bogus " + bin + eval), {"PRISM_DEVICE", "bogus"});
  // A bad environment does not break --help.
  const auto help = dmltest::run_shell("PRISM_MODE=bogus PRISM_THREADS=abc " + bin + " --help");
  INFO(help.out);
  CHECK(help.code == 0);
  CHECK_THAT(help.out, Contains("Subcommands"));
  // A good one still works.
  const auto ok = dmltest::run_shell("PRISM_THREADS=1 PRISM_MODE=fast " + bin + eval + " --json");
  INFO(ok.out);
  CHECK(ok.code == 0);
}

TEST_CASE("cli hardening: an unknown subcommand is named", "[hardening][cli]") {
  const auto r = dmltest::run_prism("frobnicate --x 1");
  require_one_line_error(r, {"unknown command 'frobnicate'", "train"});
  // Parse errors are one line too (CLI11 adds "Run with --help" on a second line).
  require_one_line_error(dmltest::run_prism("eval --embeddings e.npy --labels l.npy --no-such-flag"),
                         {"--no-such-flag"});
}

TEST_CASE("cli hardening: bench dml --steps 0 / --eval-repeats 0 are rejected up front", "[hardening][cli]") {
  require_one_line_error(dmltest::run_prism("bench dml --steps 0"), {"--steps"});
  require_one_line_error(dmltest::run_prism("bench dml --eval-repeats 0"), {"--eval-repeats"});
  require_one_line_error(dmltest::run_prism("bench dml --steps -4"), {"--steps"});
}

TEST_CASE("cli hardening: compare --methods with a duplicate fails before any run", "[hardening][cli]") {
  TempDir dir;
  write_bytes(dir / "c.yaml", "SOLVER:\n  MAX_ITERS: 2\n");
  require_one_line_error(dmltest::run_prism("compare --config " + q(dir / "c.yaml") +
                                            " --methods prism,xbm,prism --out " + q(dir / "runs")),
                         {"--methods", "'prism' twice"});
  CHECK(!std::filesystem::exists(dir / "runs"));
}

// ---- config messages

TEST_CASE("config hardening: a section given a value says it must be a map", "[hardening][config]") {
  TempDir dir;
  write_bytes(dir / "c.yaml", "NAME: x\nSOLVER: 5\n");
  REQUIRE_THROWS_WITH(load_config(dir / "c.yaml", {}, nullptr),
                      Contains("c.yaml:2") && Contains("SOLVER is a section") && Contains("'5'") &&
                          !Contains("unknown config key"));
  write_bytes(dir / "c.yaml", "DATA: [1, 2]\n");
  REQUIRE_THROWS_WITH(load_config(dir / "c.yaml", {}, nullptr),
                      Contains("c.yaml:1") && Contains("DATA is a section") && Contains("a list"));
}

TEST_CASE("config hardening: integers are range-checked before narrowing", "[hardening][config]") {
  Config c = load_config("", {"INPUT.ORIGIN_SIZE=3000000000"}, nullptr);
  REQUIRE_THROWS_WITH(image_transform_spec(c),
                      Contains("INPUT.ORIGIN_SIZE") && Contains("3000000000") && !Contains("-1294967296"));
}

TEST_CASE("config hardening: deeply nested YAML and a directory as config are named", "[hardening][config]") {
  TempDir dir;
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "[";
  write_bytes(dir / "deep.yaml", deep);
  std::string msg;
  try {
    load_config(dir / "deep.yaml", {}, nullptr);
  } catch (const Error& e) {
    msg = e.what();
  }
  INFO(msg);
  CHECK_THAT(msg, Contains("deep.yaml:1") && Contains("nesting deeper than") && !Contains("bad file"));
  REQUIRE_THROWS_WITH(load_config(dir.path.string(), {}, nullptr), Contains("is a directory"));
}

TEST_CASE("config hardening: an empty config file is named, not read as all defaults",
          "[hardening][config]") {
  TempDir dir;
  for (const std::string text : {"", "\n  \n", "# only a comment\n"}) {
    CAPTURE(text);
    write_bytes(dir / "empty.yaml", text);
    REQUIRE_THROWS_WITH(load_config(dir / "empty.yaml", {}, nullptr),
                        Contains("empty.yaml") && Contains("config file is empty"));
  }
  write_bytes(dir / "one.yaml", "# a comment\nNAME: x\n");
  CHECK(load_config(dir / "one.yaml", {}, nullptr).name == "x");
}

// ---- found by the fuzz targets (tests/fuzz)

TEST_CASE("list hardening: a path starting with a byte order mark is rejected (fuzz_list)",
          "[hardening][list]") {
  // A BOM at the start of a later line (concatenated exports) would be written back where a reader strips it.
  REQUIRE_THROWS_WITH(parse_image_list("a.jpg,1\n\xEF\xBB\xBF"
                                       "b.jpg,2\n",
                                       "cat.csv"),
                      Contains("cat.csv:2") && Contains("byte order mark"));
  REQUIRE_THROWS_WITH(parse_image_list("\xEF\xBB\xBF\xEF\xBB\xBF"
                                       "a.jpg,1\n",
                                       "twice.csv"),
                      Contains("twice.csv:1") && Contains("byte order mark"));
}

TEST_CASE("image hardening: an over-full JPEG Huffman table is rejected before stb_image (fuzz_image)",
          "[hardening][image]") {
  TempDir dir;
  std::string jpeg = encode_jpeg(testing::pattern_image(16, 16, 5), 90);
  const size_t dht = jpeg.find("\xFF\xC4");
  REQUIRE(dht != std::string::npos);
  // Code counts of the first table (bytes 5..20 of the segment) summing to 510: stb_image 2.27 writes past
  // its 257-entry size table for this.
  jpeg[dht + 5 + 14] = static_cast<char>(255);
  jpeg[dht + 5 + 15] = static_cast<char>(255);
  REQUIRE_THROWS_WITH(
      decode_image_memory(reinterpret_cast<const uint8_t*>(jpeg.data()), jpeg.size(), "dht.jpg"),
      Contains("dht.jpg") && Contains("more than 256 codes"));
  write_bytes(dir / "dht.jpg", jpeg);
  std::string why;
  REQUIRE(!probe_image_file(dir / "dht.jpg", nullptr, nullptr, &why));
  CHECK_THAT(why, Contains("more than 256 codes"));

  // The same table behind a segment length too short to hold it: stb reads the table anyway (fuzz_image).
  jpeg[dht + 2] = 0;
  jpeg[dht + 3] = 3;
  REQUIRE_THROWS_WITH(
      decode_image_memory(reinterpret_cast<const uint8_t*>(jpeg.data()), jpeg.size(), "short.jpg"),
      Contains("short.jpg") && Contains("more than 256 codes"));

  // And behind fill bytes before the SOI marker, which stb_image skips (fuzz_image).
  const std::string filled = "\xFF\xFF" + jpeg;
  REQUIRE_THROWS_WITH(
      decode_image_memory(reinterpret_cast<const uint8_t*>(filled.data()), filled.size(), "fill.jpg"),
      Contains("fill.jpg") && Contains("more than 256 codes"));
}

TEST_CASE("image hardening: a header claiming gigapixels is refused before allocating (fuzz_image)",
          "[hardening][image]") {
  TempDir dir;
  // GIF89a, 20000 x 20000, no palette, then the trailer: 13 bytes that made stb_image allocate gigabytes.
  const std::string gif = std::string("GIF89a") + "\x20\x4e\x20\x4e" + std::string("\x00\x00\x00", 3) + ";";
  REQUIRE_THROWS_WITH(
      decode_image_memory(reinterpret_cast<const uint8_t*>(gif.data()), gif.size(), "big.gif"),
      Contains("big.gif") && Contains("20000 x 20000") && Contains("larger than the limit"));
  write_bytes(dir / "big.gif", gif);
  std::string why;
  REQUIRE(!probe_image_file(dir / "big.gif", nullptr, nullptr, &why));
  CHECK_THAT(why, Contains("larger than the limit"));
}

TEST_CASE(
    "npy hardening: an empty [0, D] float32 matrix reads as empty, with no copy through null (fuzz_npy)",
    "[hardening][npy]") {
  TempDir dir;
  // Shape (0, 3) followed by stray bytes: the data is ignored; copying the zero needed bytes into an empty
  // vector's null data pointer was undefined behaviour (UBSan: nonnull attribute of memcpy).
  write_bytes(dir / "empty.npy", npy_with_shape("(0, 3)", 12));
  const NpyMatrix m = read_npy_f32_matrix(dir / "empty.npy");
  CHECK(m.rows == 0);
  CHECK(m.cols == 3);
  CHECK(m.values.empty());
}

// A BITMAPFILEHEADER + BITMAPINFOHEADER BMP, 24 bits per pixel, uncompressed, then pixel_bytes of 0x40 (a
// negative height is a top-down BMP): the files the BMP hardening cases build.
static std::string bmp_bytes(int32_t width, int32_t height, size_t pixel_bytes) {
  std::string b("BM", 2);
  auto u32 = [&](uint32_t v) {
    for (int k = 0; k < 4; ++k) b.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
  };
  auto u16 = [&](uint16_t v) {
    b.push_back(static_cast<char>(v & 0xff));
    b.push_back(static_cast<char>(v >> 8));
  };
  u32(static_cast<uint32_t>(54 + pixel_bytes));
  u32(0);
  u32(54);
  u32(40);
  u32(static_cast<uint32_t>(width));
  u32(static_cast<uint32_t>(height));
  u16(1);
  u16(24);
  u32(0);
  u32(static_cast<uint32_t>(pixel_bytes));
  u32(2835);
  u32(2835);
  u32(0);
  u32(0);
  b.append(pixel_bytes, '\x40');
  return b;
}

TEST_CASE(
    "image hardening: a BMP whose header says width 0 is rejected, not decoded to no pixels (fuzz_image)",
    "[hardening][image]") {
  TempDir dir;
  // Width 0, height 524288, 24 bits per pixel, uncompressed, 16 bytes of data: stb_image 2.27 returns a
  // pixel buffer for it.
  const std::string bmp = bmp_bytes(0, 524288, 16);
  REQUIRE_THROWS_WITH(
      decode_image_memory(reinterpret_cast<const uint8_t*>(bmp.data()), bmp.size(), "zero.bmp"),
      Contains("zero.bmp") && Contains("0x524288"));
  write_bytes(dir / "zero.bmp", bmp);
  std::string why;
  CHECK(!probe_image_file(dir / "zero.bmp", nullptr, nullptr, &why));
  CHECK(!why.empty());
}

TEST_CASE(
    "image hardening: a short BMP or TGA claiming millions of pixels is refused, not read as zeros "
    "(fuzz_image)",
    "[hardening][image]") {
  TempDir dir;
  // The 58 bytes of the fuzz_image timeout: BITMAPINFOHEADER, 14 614 530 x 2 pixels at 24 bits, uncompressed,
  // 4 bytes of pixel data. Under the pixel limit, so stb_image read 87 MB past the end of the data as zeros
  // (over 10 s under ASan).
  const unsigned char bytes[] = {0x42, 0x4d, 0x46, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x36, 0x00,
                                 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x02, 0x00, 0xdf, 0x00, 0x02, 0x00,
                                 0x00, 0x00, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,
                                 0x00, 0x00, 0x13, 0x0b, 0x00, 0x00, 0x13, 0x0b, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00};
  const std::string bmp(reinterpret_cast<const char*>(bytes), sizeof bytes);
  REQUIRE_THROWS_WITH(
      decode_image_memory(reinterpret_cast<const uint8_t*>(bmp.data()), bmp.size(), "short.bmp"),
      Contains("short.bmp") && Contains("truncated BMP") && Contains("14614530 x 2"));
  write_bytes(dir / "short.bmp", bmp);
  std::string why;
  CHECK(!probe_image_file(dir / "short.bmp", nullptr, nullptr, &why));
  CHECK_THAT(why, Contains("truncated BMP"));
  // A run-length TGA (no magic number; stb's last guess) of 65496 x 224 at 16 bits in 18 + 16 bytes: the
  // second timeout, 14.7 M one-pixel packets read from zeros.
  std::string tga =
      std::string("\x00\x00\x0a", 3) + std::string(9, '\0') + std::string("\xd8\xff\xe0\x00\x10\x00", 6);
  tga.append(16, '\x01');
  REQUIRE_THROWS_WITH(
      decode_image_memory(reinterpret_cast<const uint8_t*>(tga.data()), tga.size(), "short.tga"),
      Contains("short.tga") && Contains("truncated TGA") && Contains("65496 x 224"));
  // A complete BMP of the same kind decodes: 2048 x 1024 (over the 2^20 pixels any file may claim), 6 MB.
  std::string full = bmp.substr(0, 54);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int b = 0; b < 4; ++b) full[at + b] = static_cast<char>((v >> (8 * b)) & 0xff);
  };
  put32(2, 54 + 2048 * 1024 * 3);  // file size
  put32(18, 2048);                 // width
  put32(22, 1024);                 // height
  put32(34, 2048 * 1024 * 3);      // image size
  full.append(size_t(2048) * 1024 * 3, '\x4d');
  const Image back =
      decode_image_memory(reinterpret_cast<const uint8_t*>(full.data()), full.size(), "full.bmp");
  CHECK((back.width == 2048 && back.height == 1024));
  CHECK(back.pixels[12345] == 0x4d);
}

TEST_CASE(
    "image hardening: a corrupt JPEG whose DC predictor overflows decodes or fails with no UB (fuzz_image)",
    "[hardening][image]") {
  // fuzz_image's input: stb_image 2.27 multiplied the unbounded DC sum by the quantiser in int (UBSan: signed
  // overflow at stb_image.h:2197). stb_impl.cpp is compiled with -fwrapv since; under the sanitizer build this
  // test fails without it. The result of such a file is either garbage pixels or an error naming it.
  const std::string path =
      std::string(PRISM_SOURCE_DIR) + "/tests/fuzz/corpus/fuzz_image/regress-jpeg-dc-predictor-overflow.jpg";
  const std::string bytes = prism::read_file(path);
  REQUIRE(bytes.size() == 661);
  try {
    const Image img =
        decode_image_memory(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "dc.jpg");
    CHECK(img.pixels.size() == static_cast<size_t>(img.width) * img.height * 3);
  } catch (const prism::Error& e) {
    CHECK_THAT(e.what(), Contains("dc.jpg"));
  }
}

TEST_CASE("image hardening: a PNG chunk claiming more bytes than the file has is refused (fuzz_image)",
          "[hardening][image]") {
  TempDir dir;
  // A valid 4 x 3 PNG, then its first IDAT's length raised to 1 GB: stb_image 2.27 allocated 2 GB for such a
  // file (fuzz_image's out-of-memory) before finding the data missing.
  Image img;
  img.width = 4;
  img.height = 3;
  img.pixels.assign(36, 200);
  const std::string good = encode_png(img);
  const size_t idat = good.find("IDAT");
  REQUIRE(idat != std::string::npos);
  std::string bad = good;
  bad[idat - 4] = 0x40;  // length 0x40xxxxxx
  REQUIRE_THROWS_WITH(
      decode_image_memory(reinterpret_cast<const uint8_t*>(bad.data()), bad.size(), "big.png"),
      Contains("big.png") && Contains("truncated PNG"));
  write_bytes(dir / "big.png", bad);
  std::string why;
  CHECK(!probe_image_file(dir / "big.png", nullptr, nullptr, &why));
  CHECK_THAT(why, Contains("truncated PNG"));
  // The unmodified file still decodes, and so does one cut after its IEND chunk's CRC with junk appended.
  CHECK(decode_image_memory(reinterpret_cast<const uint8_t*>(good.data()), good.size(), "good.png").width ==
        4);
  const std::string padded = good + std::string(7, '\0');
  CHECK(
      decode_image_memory(reinterpret_cast<const uint8_t*>(padded.data()), padded.size(), "pad.png").height ==
      3);
}

TEST_CASE(
    "image hardening: a top-down BMP (negative height) is sized as such by the checks and the probe "
    "(fuzz_image)",
    "[hardening][image]") {
  TempDir dir;
  // BITMAPINFOHEADER with height -3 (rows top to bottom): 4 x 3 pixels at 24 bits, rows of 12 bytes.
  // A complete one: decodes, and the probe (which rejected every top-down BMP as a bad header) accepts it.
  const std::string good = bmp_bytes(4, -3, 36);
  const Image img = decode_image_memory(reinterpret_cast<const uint8_t*>(good.data()), good.size(), "td.bmp");
  CHECK((img.width == 4 && img.height == 3));
  write_bytes(dir / "td.bmp", good);
  int w = 0, h = 0;
  std::string why;
  CHECK(probe_image_file(dir / "td.bmp", &w, &h, &why));
  CHECK((w == 4 && h == 3));
  // fuzz_image's file: 186 x -65532 in 54 bytes passed the size checks as a negative pixel count and decoded
  // 12 M pixels from zeros; now both decode and probe refuse it as truncated.
  const std::string bad = bmp_bytes(186, -65532, 0);
  CHECK_THROWS_WITH(
      decode_image_memory(reinterpret_cast<const uint8_t*>(bad.data()), bad.size(), "short.bmp"),
      Contains("truncated BMP") && Contains("186 x 65532"));
  write_bytes(dir / "short.bmp", bad);
  CHECK(!probe_image_file(dir / "short.bmp", nullptr, nullptr, &why));
  CHECK_THAT(why, Contains("truncated BMP"));
}

TEST_CASE(
    "image hardening: PNM is not decoded (stb 2.27's 16-bit PGM path overflowed its buffer, fuzz_image)",
    "[hardening][image]") {
  // fuzz_image's input, a P5 header with maxval 5535: stb_image 2.27 read past its pixel buffer (ASan). Its PNM
  // decoder is compiled out, so such a file (and any PNM) is refused with the file named.
  const std::string path =
      std::string(PRISM_SOURCE_DIR) + "/tests/fuzz/corpus/fuzz_image/regress-pnm-16bit-overflow.pgm";
  const std::string bytes = prism::read_file(path);
  REQUIRE(bytes.compare(0, 2, "P5") == 0);
  CHECK_THROWS_WITH(
      decode_image_memory(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.pgm"),
      Contains("x.pgm") && Contains("not an image in a supported format"));
  const std::string pgm = std::string("P5\n2 2\n255\n") + std::string("\x01\x02\x03\x04", 4);
  CHECK_THROWS_WITH(decode_image_memory(reinterpret_cast<const uint8_t*>(pgm.data()), pgm.size(), "ok.pgm"),
                    Contains("ok.pgm"));
}

// Defect 8 of the probe: Σ x² overflowed float for |x| ≳ 1e19 and such rows became 0.
TEST_CASE("l2 normalise hardening: rows whose squared sum overflows float still get unit length",
          "[hardening]") {
  for (prism::Mode m : {prism::Mode::exact, prism::Mode::fast}) {
    prism::ScopedMode mode(m);
    const prism::Tensor x = prism::Tensor::from_vector({3, 2}, {3e19f, 4e19f, -3e38f, 3e38f, 0.3f, 0.4f});
    const std::vector<float> y = prism::l2_normalize(x).to_vector();
    INFO("mode " << prism::mode_name(m));
    CHECK(y[0] == Approx(0.6f).epsilon(1e-6));
    CHECK(y[1] == Approx(0.8f).epsilon(1e-6));
    CHECK(y[2] == Approx(-0.70710678f).epsilon(1e-6));
    CHECK(y[3] == Approx(0.70710678f).epsilon(1e-6));
    CHECK(y[4] ==
          0.3f / std::sqrt(std::fma(0.4f, 0.4f, 0.3f * 0.3f)));  // an ordinary row: the plain definition
  }
}
