// safetensors: the committed fixture (written by tests/reference/make_safetensors_fixture.py with json +
// struct, the reference library's layout) loads; our writer's output satisfies the format's rules as checked
// by an independent reader written here (nlohmann JSON + memcpy, not parse_safetensors); round trips; corrupt
// files.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "data_fixtures.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/safetensors.hpp"

using namespace prism;
using prism::testing::TempDir;

TEST_CASE("safetensors: reads the fixture written by the reference layout", "[data]") {
  const SafeTensors st = read_safetensors(PRISM_TEST_DATA_DIR "/fixture.safetensors");
  // The formulas of fixture_tensors() in the script.
  std::vector<float> weight(6);
  for (int i = 0; i < 6; ++i) weight[i] = 0.5f * i - 1.0f;
  const std::vector<int64_t> s23{2, 3};
  REQUIRE(st.get_f32("weight", &s23) == weight);
  REQUIRE(st.get_f32("bias") == std::vector<float>{0.25f, -0.125f, 3.0f});
  REQUIRE(st.at("step").shape.empty());
  REQUIRE(st.get_i64("step") == std::vector<int64_t>{(int64_t(1) << 40) + 7});
  REQUIRE(st.get_i64("index") == std::vector<int64_t>{-3, 0, 5, int64_t(1) << 33});
  REQUIRE(st.get_i32("labels") == std::vector<int32_t>{4, 3, 2, 1, -1});
  REQUIRE(st.at("double").dtype == StDType::F64);
  double d[2];
  std::memcpy(d, st.at("double").data.data(), 16);
  REQUIRE(d[0] == 1.0 / 3.0);
  REQUIRE(d[1] == -2.5e-300);
  REQUIRE(st.get_u8("mask") == std::vector<uint8_t>{0, 1, 254, 255});
  REQUIRE(st.at("empty").shape == std::vector<int64_t>{0, 4});
  REQUIRE(st.get_f32("empty").empty());
  REQUIRE(st.meta("format") == "pt");
  REQUIRE(st.meta("iteration") == "12");
  REQUIRE(st.metadata.size() == 3);
  Tensor w = st.get_tensor("weight");
  REQUIRE(w.shape() == Shape{2, 3});
  REQUIRE(w.to_vector() == weight);
  REQUIRE(st.get_tensor("labels").dtype() == DType::i32);
  REQUIRE_THROWS_WITH(st.get_tensor("step"), Catch::Contains("'step'") && Catch::Contains("I64"));
  REQUIRE_THROWS_WITH(st.get_i32("weight"), Catch::Contains("'weight'") && Catch::Contains("F32"));
  const std::vector<int64_t> wrong{3, 2};
  REQUIRE_THROWS_WITH(st.get_f32("weight", &wrong), Catch::Contains("[2, 3]") && Catch::Contains("[3, 2]"));
  REQUIRE_THROWS_WITH(st.at("nope"), Catch::Contains("fixture.safetensors") && Catch::Contains("'nope'"));
  REQUIRE_THROWS_WITH(st.meta("nope"), Catch::Contains("'nope'"));
}

namespace {
SafeTensors sample_checkpoint() {
  SafeTensors st;
  st.put("model.fc.weight", Tensor::from_vector({2, 2}, {1.5f, -2.0f, 0.0f, 3.25f}));
  st.put("sampler.labels", Tensor::from_vector_i32({3}, {7, 8, 9}));
  st.put_i64("iteration", {}, {123456789012LL});
  st.put_u8("flags", {5}, {1, 0, 0, 1, 1});
  st.put_f32("memory.feats", {3, 1}, {0.1f, 0.2f, 0.3f});
  st.put_f32("empty", {0}, {});
  st.metadata["format"] = "pt";
  st.metadata["config"] = "SOLVER:\n  BASE_LR: 3.0e-05\n  \"quoted\" \\ é";
  return st;
}
}  // namespace

TEST_CASE("safetensors: our writer follows the format's rules (independent reader)", "[data]") {
  const std::string bytes = safetensors_bytes(sample_checkpoint());
  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int b = 0; b < 8; ++b) n |= uint64_t(static_cast<unsigned char>(bytes[b])) << (8 * b);
  REQUIRE(n % 8 == 0);  // data starts 8-byte aligned
  REQUIRE(8 + n <= bytes.size());
  const std::string header_text = bytes.substr(8, n);
  REQUIRE(header_text.front() == '{');
  const size_t last = header_text.find_last_not_of(' ');
  REQUIRE(header_text[last] == '}');  // padding is spaces only
  const nlohmann::json h = nlohmann::json::parse(header_text);
  REQUIRE(h["__metadata__"]["format"] == "pt");
  REQUIRE(h["__metadata__"]["config"] == "SOLVER:\n  BASE_LR: 3.0e-05\n  \"quoted\" \\ é");
  const std::map<std::string, size_t> sizes{{"F32", 4}, {"I32", 4}, {"I64", 8}, {"U8", 1}};
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    CAPTURE(it.key());
    const auto& v = it.value();
    REQUIRE(v.size() == 3);
    const uint64_t b = v["data_offsets"][0], e = v["data_offsets"][1];
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) numel *= d.get<uint64_t>();
    const size_t es = sizes.at(v["dtype"].get<std::string>());
    REQUIRE(e - b == numel * es);
    REQUIRE((8 + n + b) % es == 0);  // each tensor aligned to its element size
    ranges.emplace_back(b, e);
  }
  REQUIRE(ranges.size() == 6);
  std::sort(ranges.begin(), ranges.end());
  uint64_t expect = 0;
  for (auto [b, e] : ranges) {
    REQUIRE(b == expect);  // contiguous, no gaps or overlaps
    expect = e;
  }
  REQUIRE(8 + n + expect == bytes.size());
  // Values straight from the bytes.
  const uint64_t wb = h["model.fc.weight"]["data_offsets"][0];
  float w[4];
  std::memcpy(w, bytes.data() + 8 + n + wb, 16);
  REQUIRE(w[3] == 3.25f);
  REQUIRE(h["model.fc.weight"]["dtype"] == "F32");
  REQUIRE(h["sampler.labels"]["dtype"] == "I32");
  REQUIRE(h["iteration"]["shape"].empty());
  // A pure function of the contents: the same state gives the same bytes.
  REQUIRE(safetensors_bytes(sample_checkpoint()) == bytes);
}

TEST_CASE("safetensors: round trip through a file, atomic overwrite", "[data]") {
  TempDir dir;
  const SafeTensors a = sample_checkpoint();
  write_safetensors(dir / "ck.safetensors", a);
  SafeTensors b = read_safetensors(dir / "ck.safetensors");
  REQUIRE(b.metadata == a.metadata);
  REQUIRE(b.tensors.size() == a.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    CAPTURE(name);
    REQUIRE(b.at(name).dtype == t.dtype);
    REQUIRE(b.at(name).shape == t.shape);
    REQUIRE(b.at(name).data == t.data);
  }
  REQUIRE(safetensors_bytes(b) == safetensors_bytes(a));
  SafeTensors small;
  small.put_i32("x", {1}, {1});
  write_safetensors(dir / "ck.safetensors", small);
  REQUIRE(read_safetensors(dir / "ck.safetensors").tensors.size() == 1);
  REQUIRE_THROWS_WITH(write_safetensors(dir / "no/such/dir/ck.safetensors", small),
                      Catch::Contains("cannot write"));
  REQUIRE_THROWS_WITH(small.put_f32("bad", {2, 2}, {1.0f}), Catch::Contains("'bad'"));
}

TEST_CASE("safetensors: corrupt files are rejected with the reason", "[data]") {
  const std::string good = safetensors_bytes(sample_checkpoint());
  uint64_t n = 0;
  for (int b = 0; b < 8; ++b) n |= uint64_t(static_cast<unsigned char>(good[b])) << (8 * b);
  auto header_with = [&](const std::string& json) {
    std::string text = json;
    std::string out(8, '\0');
    for (int b = 0; b < 8; ++b) out[b] = static_cast<char>((text.size() >> (8 * b)) & 0xff);
    return out + text;
  };
  REQUIRE_THROWS_WITH(parse_safetensors("abc", "f"), Catch::Contains("f: not a safetensors"));
  REQUIRE_THROWS_WITH(parse_safetensors(good.substr(0, 8 + n / 2), "f"), Catch::Contains("truncated"));
  REQUIRE_THROWS_WITH(parse_safetensors(good.substr(0, good.size() - 1), "f"), Catch::Contains("truncated"));
  REQUIRE_THROWS_WITH(parse_safetensors(good + "x", "f"), Catch::Contains("trailing"));
  std::string huge = good;
  huge[7] = 0x10;
  REQUIRE_THROWS_WITH(parse_safetensors(huge, "f"), Catch::Contains("too large"));
  REQUIRE_THROWS_WITH(parse_safetensors(header_with("[1, 2]  "), "f"), Catch::Contains("start with '{'"));
  REQUIRE_THROWS_WITH(parse_safetensors(header_with("{\"a\": 1"), "f"), Catch::Contains("not valid JSON"));
  // F16 and BF16 are read (weights: SafeTensors::get_as_f32); a dtype prism has no use for is rejected.
  REQUIRE_THROWS_WITH(
      parse_safetensors(header_with(R"({"a":{"dtype":"I16","shape":[1],"data_offsets":[0,2]}})") + "xx", "f"),
      Catch::Contains("'a'") && Catch::Contains("I16"));
  REQUIRE(
      parse_safetensors(header_with(R"({"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})") + "xx", "f")
          .at("a")
          .dtype == StDType::BF16);
  REQUIRE_THROWS_WITH(
      parse_safetensors(header_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})") + "xxxx",
                        "f"),
      Catch::Contains("'a'") && Catch::Contains("needs 8 bytes"));
  REQUIRE_THROWS_WITH(
      parse_safetensors(header_with(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                    R"("b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}})") +
                            "xyz",
                        "f"),
      Catch::Contains("'b'") && Catch::Contains("contiguous"));
  REQUIRE_THROWS_WITH(parse_safetensors(header_with(R"({"__metadata__":{"k":1}})"), "f"),
                      Catch::Contains("not a string"));
}
