// The DML commands run as a user would: `prism eval`, `prism select`, `prism noise` on files written here —
// happy paths (JSON keys, values against the library, determinism of noise files) and bad input (wrong dtype
// or rank, length mismatch, empty files, CSV lines without a label, negative labels): clear message, non-zero
// exit.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "dml_test_util.hpp"
#include "prism/core/autograd.hpp"
#include "prism/core/io.hpp"
#include "prism/core/ops.hpp"
#include "prism/data/image.hpp"
#include "prism/data/list.hpp"
#include "prism/data/npy.hpp"
#include "prism/dml/metrics.hpp"

using namespace prism;
namespace fs = std::filesystem;
using dmltest::run_prism;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("prism_dml_cli_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator()(const std::string& name) const { return (path / name).string(); }
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A small clustered data set: 60 embeddings of 3 classes in 8-D, labels int64.
struct Data {
  std::vector<float> e;
  std::vector<int32_t> y;
};
Data make_data(int64_t n, int64_t d, int32_t classes, uint64_t seed) {
  Data out;
  out.e = dmltest::random_unit_rows(n, d, seed);
  out.y = dmltest::random_labels(n, classes, seed + 1);
  for (int64_t i = 0; i < n; ++i) out.e[i * d + out.y[i]] += 2.0f;  // pull each class towards an axis
  return out;
}

nlohmann::json parse_json(const dmltest::RunResult& r) {
  INFO("output: " << r.out);
  REQUIRE(r.code == 0);
  return nlohmann::json::parse(r.out);
}

void require_failure(const dmltest::RunResult& r, const std::vector<std::string>& needles) {
  INFO("output: " << r.out);
  REQUIRE(r.code != 0);
  for (const auto& s : needles) CHECK(r.out.find(s) != std::string::npos);
}

}  // namespace

TEST_CASE("cli: prism eval matches the library and rejects bad files", "[dml][cli]") {
  TempDir tmp;
  const int64_t n = 60, d = 8;
  const Data data = make_data(n, d, 3, 5);
  write_npy_f32(tmp("e.npy"), {n, d}, data.e);
  write_npy_i64(tmp("y.npy"), std::vector<int64_t>(data.y.begin(), data.y.end()));
  const std::string base = "eval --embeddings " + tmp("e.npy") + " --labels " + tmp("y.npy");

  SECTION("JSON keys and values") {
    const auto j = parse_json(run_prism(base + " --json"));
    for (const char* key : {"precision_at_1", "r_precision", "map_at_r", "recall_at_1", "recall_at_2",
                            "recall_at_4", "recall_at_8", "num_queries"})
      CHECK(j.contains(key));
    NoGradGuard ng;
    const auto m = dml::evaluate_retrieval(l2_normalize(Tensor::from_vector({n, d}, data.e)), data.y);
    CHECK(j["map_at_r"].get<double>() == m.map_at_r);
    CHECK(j["precision_at_1"].get<double>() == m.precision_at_1);
    CHECK(j["num_queries"].get<int64_t>() == n);
  }
  SECTION("separate gallery") {
    const Data g = make_data(30, d, 3, 9);
    write_npy_f32(tmp("g.npy"), {30, d}, g.e);
    write_npy_i32(tmp("gy.npy"), g.y);
    const auto j = parse_json(run_prism(base + " --gallery-embeddings " + tmp("g.npy") +
                                        " --gallery-labels " + tmp("gy.npy") + " --json"));
    CHECK(j["num_gallery"].get<int64_t>() == 30);
    require_failure(run_prism(base + " --gallery-embeddings " + tmp("g.npy")), {"go together"});
  }
  SECTION("wrong dtype") {
    std::vector<double> e64(data.e.begin(), data.e.end());
    write_npy(tmp("e64.npy"), NpyType::f64, {n, d}, e64.data());
    require_failure(run_prism("eval --embeddings " + tmp("e64.npy") + " --labels " + tmp("y.npy")),
                    {"e64.npy", "float32", "float64"});
    write_npy(tmp("yf.npy"), NpyType::f32, {n}, data.e.data());
    require_failure(run_prism("eval --embeddings " + tmp("e.npy") + " --labels " + tmp("yf.npy")),
                    {"yf.npy", "int32 or int64"});
  }
  SECTION("wrong rank") {
    write_npy(tmp("e3.npy"), NpyType::f32, {n, 2, d / 2}, data.e.data());
    require_failure(run_prism("eval --embeddings " + tmp("e3.npy") + " --labels " + tmp("y.npy")),
                    {"e3.npy", "2-D", "3 dimension"});
  }
  SECTION("labels and embeddings of different lengths") {
    write_npy_i32(tmp("y_short.npy"), std::vector<int32_t>(data.y.begin(), data.y.begin() + 50));
    require_failure(run_prism("eval --embeddings " + tmp("e.npy") + " --labels " + tmp("y_short.npy")),
                    {"y_short.npy", "50 labels", "60 rows"});
  }
  SECTION("empty and missing files") {
    write_text(tmp("empty.npy"), "");
    require_failure(run_prism("eval --embeddings " + tmp("empty.npy") + " --labels " + tmp("y.npy")),
                    {"empty.npy", "empty file"});
    write_npy(tmp("e0.npy"), NpyType::f32, {0, d}, data.e.data());
    require_failure(run_prism("eval --embeddings " + tmp("e0.npy") + " --labels " + tmp("y.npy")),
                    {"e0.npy", "empty"});
    require_failure(run_prism("eval --embeddings " + tmp("nope.npy") + " --labels " + tmp("y.npy")),
                    {"nope.npy", "cannot open"});
  }
  SECTION("negative labels") {
    std::vector<int64_t> neg(data.y.begin(), data.y.end());
    neg[7] = -2;
    write_npy_i64(tmp("yneg.npy"), neg);
    require_failure(run_prism("eval --embeddings " + tmp("e.npy") + " --labels " + tmp("yneg.npy")),
                    {"yneg.npy", "-2", "index 7"});
  }
  SECTION("--help") {
    const auto r = run_prism("eval --help");
    CHECK(r.code == 0);
    CHECK(r.out.find("--gallery-embeddings") != std::string::npos);
  }
}

TEST_CASE("cli: prism select prints probabilities, threshold, keep and removed", "[dml][cli]") {
  TempDir tmp;
  const int64_t d = 8;
  const Data mem = make_data(90, d, 3, 21), batch = make_data(12, d, 3, 22);
  write_npy_f32(tmp("m.npy"), {90, d}, mem.e);
  write_npy_i32(tmp("my.npy"), mem.y);
  write_npy_f32(tmp("f.npy"), {12, d}, batch.e);
  write_npy_i32(tmp("fy.npy"), batch.y);
  const std::string base = "select --memory-embeddings " + tmp("m.npy") + " --memory-labels " +
                           tmp("my.npy") + " --embeddings " + tmp("f.npy") + " --labels " + tmp("fy.npy") +
                           " --num-classes 3";
  for (const char* form : {"center", "full"}) {
    CAPTURE(form);
    const auto j = parse_json(run_prism(base + " --noise-rate 0.25 --json --form " + form));
    REQUIRE(j["clean_probability"].size() == 12);
    REQUIRE(j["keep"].size() == 12);
    CHECK(j["r"].get<int64_t>() == 3);
    // First step on an empty window: threshold = q, keep exactly P > q, removed = the others.
    const double thr = j["threshold"].get<double>();
    std::vector<int64_t> removed;
    for (int i = 0; i < 12; ++i) {
      const bool keep = j["keep"][i].get<bool>();
      CHECK(keep == (j["clean_probability"][i].get<double>() > thr));
      if (!keep) removed.push_back(i);
    }
    CHECK(j["removed"].get<std::vector<int64_t>>() == removed);
    CHECK(removed.size() >= 3);
  }
  const auto table = run_prism(base + " --noise-rate 0.25");
  CHECK(table.code == 0);
  CHECK(table.out.find("P_clean") != std::string::npos);
  require_failure(run_prism(base + " --noise-rate 0.25 --form middle"),
                  {"middle", "center, full, vmf or vmf_log"});
  require_failure(run_prism(base + " --form center"), {"--noise-rate", "required"});
  require_failure(run_prism(base + " --noise-rate 1.5"), {"--noise-rate", "[0, 1]"});
  write_npy_i32(tmp("fy_big.npy"), std::vector<int32_t>(12, 3));
  require_failure(run_prism("select --memory-embeddings " + tmp("m.npy") + " --memory-labels " +
                            tmp("my.npy") + " --embeddings " + tmp("f.npy") + " --labels " +
                            tmp("fy_big.npy") + " --num-classes 3 --noise-rate 0.5"),
                  {"fy_big.npy", "label 3", "--num-classes 3"});
}

TEST_CASE("cli: prism select --form vmf reports kappa per class, --method knn the kNN scores", "[dml][cli]") {
  TempDir tmp;
  const int64_t d = 8;
  Data mem = make_data(90, d, 4, 31);
  for (auto& l : mem.y)
    if (l == 3) l = 2;  // class 3 has no memory rows
  const Data batch = make_data(12, d, 4, 32);
  write_npy_f32(tmp("m.npy"), {90, d}, mem.e);
  write_npy_i32(tmp("my.npy"), mem.y);
  write_npy_f32(tmp("f.npy"), {12, d}, batch.e);
  write_npy_i32(tmp("fy.npy"), batch.y);
  const std::string base = "select --memory-embeddings " + tmp("m.npy") + " --memory-labels " +
                           tmp("my.npy") + " --embeddings " + tmp("f.npy") + " --labels " + tmp("fy.npy") +
                           " --num-classes 4";
  const auto j = parse_json(run_prism(base + " --noise-rate 0.25 --json --form vmf"));
  REQUIRE(j["kappa"].size() == 4);
  REQUIRE(j["log_normalizer"].size() == 4);
  CHECK(j["kappa"][3].is_null());
  CHECK(j["log_normalizer"][3].is_null());
  for (int k = 0; k < 3; ++k) {
    CAPTURE(k);
    CHECK(j["kappa"][k].get<double>() >= 1e-3);
    CHECK(j["kappa"][k].get<double>() <= 1e5);
  }
  const double thr = j["threshold"].get<double>();
  for (int i = 0; i < 12; ++i) {
    CAPTURE(i);
    const double p = j["clean_probability"][i].get<double>();
    CHECK(j["keep"][i].get<bool>() == (p > thr));
    if (batch.y[i] == 3) CHECK(p == 1.0);
  }
  const auto jl = parse_json(run_prism(base + " --noise-rate 0.25 --json --form vmf_log"));
  REQUIRE(jl["log_clean_probability"].size() == 12);
  CHECK(jl["kappa"] == j["kappa"]);
  for (int i = 0; i < 12; ++i) CHECK(jl["log_clean_probability"][i].get<double>() <= 0.0);
  const auto table = run_prism(base + " --noise-rate 0.25 --form vmf");
  CHECK(table.code == 0);
  CHECK(table.out.find("ln C_d(kappa)") != std::string::npos);

  // kNN: no noise rate; keep = score >= alpha.
  const auto k = parse_json(run_prism(base + " --method knn --knn-k 7 --knn-alpha 0.6 --json"));
  REQUIRE(k["knn_score"].size() == 12);
  CHECK(k["knn_k"].get<int64_t>() == 7);
  CHECK(k["threshold"].get<double>() == 0.6);
  CHECK_FALSE(k.contains("kappa"));
  for (int i = 0; i < 12; ++i) {
    CAPTURE(i);
    CHECK(k["keep"][i].get<bool>() == (k["knn_score"][i].get<double>() >= 0.6));
  }
  CHECK(run_prism(base + " --method knn").out.find("knn score") != std::string::npos);
  require_failure(run_prism(base + " --method knn --knn-alpha 2"), {"--knn-alpha", "[0, 1]"});
  require_failure(run_prism(base + " --method knn --knn-k 0"), {"--knn-k", ">= 1"});
}

TEST_CASE("cli: prism noise writes deterministic lists, cleaned twins and flags", "[dml][cli]") {
  TempDir tmp;
  std::string list;
  for (int i = 0; i < 400; ++i)
    list += "img/" + std::to_string(i) + ".jpg," + std::to_string(1 + i % 8) + "\n";
  write_text(tmp("train.csv"), list);
  const std::string base = "noise --list " + tmp("train.csv") + " --type symmetric --rate 0.4 ";
  const auto j = parse_json(run_prism(base + "--seed 3 --out " + tmp("a.csv") + " --cleaned " +
                                      tmp("a_clean.csv") + " --flags " + tmp("a_flags.npy") + " --json"));
  CHECK(j["num_samples"].get<int64_t>() == 400);
  CHECK(j["achieved_rate"].get<double>() == Approx(j["num_noisy"].get<double>() / 400));
  parse_json(run_prism(base + "--seed 3 --out " + tmp("b.csv") + " --json"));
  parse_json(run_prism(base + "--seed 4 --out " + tmp("c.csv") + " --json"));
  CHECK(read_file(tmp("a.csv")) == read_file(tmp("b.csv")));
  CHECK(read_file(tmp("a.csv")) != read_file(tmp("c.csv")));
  // The cleaned twin gives back the flags that were written.
  const ImageList noisy = read_image_list(tmp("a.csv")), cleaned = read_image_list(tmp("a_clean.csv"));
  const auto flags = noise_flags_from_cleaned(noisy, cleaned, tmp("a_clean.csv"));
  const NpyArray written = read_npy(tmp("a_flags.npy"));
  REQUIRE(written.type == NpyType::u8);
  CHECK(std::vector<uint8_t>(written.data.begin(), written.data.end()) == flags);

  SECTION("small-cluster with features: chosen classes vanish, labels contiguous from 0") {
    const Data f = make_data(400, 6, 8, 31);
    write_npy_f32(tmp("feat.npy"), {400, 6}, f.e);
    const auto s = parse_json(run_prism("noise --list " + tmp("train.csv") +
                                        " --type small-cluster --rate 0.25 " + "--seed 1 --features " +
                                        tmp("feat.npy") + " --out " + tmp("s.csv") + " --json"));
    CHECK(s["removed_classes"].size() == 2);
    CHECK(s["num_classes"].get<int64_t>() == 6);
    const ImageList out = read_image_list(tmp("s.csv"));
    std::vector<int32_t> labels = out.labels;
    remap_labels_contiguous(labels);
    CHECK(labels == out.labels);  // already 0..5 in order
    require_failure(
        run_prism("noise --list " + tmp("train.csv") + " --type small-cluster --rate 0.25 --out " +
                  tmp("s2.csv") + " --root " + tmp("no_images")),
        {"cannot open", "--features"});
  }
  SECTION("bad input: a CSV line without a label, negative labels, bad options") {
    write_text(tmp("nolabel.csv"), "img/0.jpg,1\nimg/1.jpg\n");
    require_failure(run_prism("noise --list " + tmp("nolabel.csv") + " --type symmetric --rate 0.2 --out " +
                              tmp("x.csv")),
                    {"nolabel.csv:2", "path,label"});
    write_text(tmp("neg.csv"), "img/0.jpg,1\nimg/1.jpg,-4\n");
    require_failure(
        run_prism("noise --list " + tmp("neg.csv") + " --type symmetric --rate 0.2 --out " + tmp("x.csv")),
        {"neg.csv:2", "-4"});
    require_failure(
        run_prism("noise --list " + tmp("train.csv") + " --type gaussian --rate 0.4 --out " + tmp("x.csv")),
        {"gaussian", "symmetric or small-cluster"});
    require_failure(run_prism(base + "--out " + tmp("x.npy")), {".csv"});
    CHECK_FALSE(fs::exists(tmp("x.csv")));
  }
  SECTION(".npy labels in, .npy labels and flags out") {
    write_npy_i32(tmp("labels.npy"), std::vector<int32_t>(300, 0));
    require_failure(run_prism("noise --labels " + tmp("labels.npy") + " --type symmetric --rate 0.2 --out " +
                              tmp("o.npy")),
                    {"2 distinct labels"});
    std::vector<int32_t> y(300);
    for (int i = 0; i < 300; ++i) y[i] = i % 3;
    write_npy_i32(tmp("labels.npy"), y);
    parse_json(run_prism("noise --labels " + tmp("labels.npy") + " --type symmetric --rate 0.2 --out " +
                         tmp("o.npy") + " --flags " + tmp("of.npy") + " --json"));
    CHECK(read_npy_labels(tmp("o.npy")).size() == 300);
  }
}

TEST_CASE("cli: eval and select read files written by numpy", "[dml][cli]") {
  // The golden fixtures were written by np.save (tests/reference/make_dml_golden.py): float32 embeddings,
  // int32 batch labels and int64 memory labels.
  const std::string dir = std::string(PRISM_TEST_DATA_DIR) + "/dml/contrastive_";
  const auto e = parse_json(
      run_prism("eval --embeddings " + dir + "memory.npy --labels " + dir + "memory_labels.npy --json"));
  CHECK(e["num_queries"].get<int64_t>() + e["num_skipped_queries"].get<int64_t>() == 40);
  CHECK(e["map_at_r"].get<double>() > 0.0);
  const auto s = parse_json(run_prism("select --memory-embeddings " + dir + "memory.npy --memory-labels " +
                                      dir + "memory_labels.npy --embeddings " + dir + "emb.npy --labels " +
                                      dir + "labels.npy --num-classes 5 --noise-rate 0.5 --json"));
  CHECK(s["clean_probability"].size() == 12);
  CHECK(s["r"].get<int64_t>() == 6);
}

TEST_CASE("cli: prism bench ops times the conv layers against their FLOP-time and conv1's memory floor",
          "[cli][bench]") {
  const auto r = dmltest::run_prism("bench ops --json --threads 1 2>/dev/null");
  const nlohmann::json j = parse_json(r);
  REQUIRE(j["sgemm_gflops"]["1024"]["exact"].get<double>() > 0);
  struct Layer {
    const char* name;
    double c, h, co;
  };
  for (const Layer& l : {Layer{"conv1 1->32 @28x28", 1, 28, 32}, Layer{"conv2 32->64 @14x14", 32, 14, 64},
                         Layer{"conv3 64->128 @7x7", 64, 7, 128}}) {
    INFO(l.name);
    const nlohmann::json& op = j["conv_forward_backward_batch64"][l.name];
    const nlohmann::json& kernels = j["conv_kernels_batch64"][l.name];
    const double gemm_flops = 2.0 * 64 * l.h * l.h * l.co * l.c * 9;  // one of the layer's three GEMMs
    for (const char* mode : {"exact", "fast"}) {
      INFO(mode);
      const double rate = j["sgemm_gflops"]["1024"][mode].get<double>() * 1e9;
      // Each time with its multiple of the FLOP-time of its GEMMs (forward + dW: two; all gradients: three).
      for (const auto& [key, gemms] :
           {std::pair<std::string, int>{"forward_dw", 2}, {"all", 3}, {"all_sum_loss", 3}}) {
        INFO(key);
        const double ms = op[mode][key + "_ms"].get<double>();
        CHECK(ms > 0);
        CHECK(op[mode][key + "_flop_times"].get<double>() == Approx(ms * 1e-3 / (gemms * gemm_flops / rate)));
      }
      for (const auto& [key, gemms] : {std::pair<std::string, int>{"forward_dw", 2}, {"forward_dw_dx", 3}}) {
        INFO(key);
        const double ms = kernels[mode][key + "_ms"].get<double>();
        CHECK(ms > 0);
        CHECK(kernels[mode][key + "_flop_times"].get<double>() ==
              Approx(ms * 1e-3 / (gemms * gemm_flops / rate)));
      }
    }
  }
  const nlohmann::json& floor = j["conv1_output_memory_floor"];
  CHECK(floor["bytes"].get<int64_t>() == 64 * 32 * 28 * 28 * 4);
  CHECK(floor["rotation_bytes"].get<int64_t>() > (int64_t{64} << 20));
  CHECK(floor["write_ms"].get<double>() > 0);
  CHECK(floor["read_ms"].get<double>() > 0);
  const double conv1_forward_dw_s =
      2 * 2.0 * 64 * 28 * 28 * 32 * 9 / (j["sgemm_gflops"]["1024"]["exact"].get<double>() * 1e9);
  CHECK(
      floor["write_read_forward_dw_flop_times"].get<double>() ==
      Approx((floor["write_ms"].get<double>() + floor["read_ms"].get<double>()) * 1e-3 / conv1_forward_dw_s));
  require_failure(dmltest::run_prism("bench ops --device tpu"), {"--device"});
}

TEST_CASE("cli: prism bench resnet times inference and a training step in both modes", "[cli][bench]") {
  // Tiny: resnet18 for both at 32 px, batch 2, one timed batch each; no PyTorch.
  const auto r = dmltest::run_prism(
      "bench resnet --infer-model resnet18 --train-model resnet18 --batch 2 --size 32 --steps 1 --no-torch "
      "--json --threads 1 2>/dev/null");
  const nlohmann::json j = parse_json(r);
  for (const char* what : {"inference", "training"}) {
    INFO(what);
    CHECK(j[what]["model"] == "resnet18");
    for (const char* mode : {"fast", "exact"}) CHECK(j[what]["images_per_second"][mode].get<double>() > 0);
    CHECK(!j[what].contains("ratio_vs_pytorch"));
  }
  CHECK(j["pytorch"].is_null());
  CHECK(j["pytorch_error"].get<std::string>().find("--no-torch") != std::string::npos);
  require_failure(dmltest::run_prism("bench resnet --size 8"), {"--size"});
  require_failure(dmltest::run_prism("bench resnet --train-model vgg16"), {"--train-model"});
}

TEST_CASE("cli: prism bench train pairs each sitting with a twin run and reports the median ratio",
          "[cli][bench]") {
  // A stand-in twin (run by /bin/sh) that reads 100, 1e6, 200 img/s on its first, second and third run, 300 on
  // its fourth and fails on its fifth: the rows must pair each sitting with its own twin run, in order, and the
  // ratio is the median of the rows'.
  TempDir tmp;
  const std::string twin = tmp("twin.sh"), count = tmp("count");
  write_text(
      twin,
      "n=$(cat '" + count + "' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '" + count +
          "'\n"
          "case $n in 1) ips=100;; 2) ips=1000000;; 3) ips=200;; 4) ips=300;; *) exit 3;; esac\n"
          "printf '{\"images_per_second\": %s, \"torch\": \"stand-in\", \"blas\": \"none\"}\\n' $ips\n");
  const std::string bench =
      "PRISM_PYTHON=/bin/sh \"" + std::string(PRISM_BINARY_PATH) +
      "\" bench train --batch 16 --instances 4 --memory 64 --steps 1 --threads 1 --json "
      "--torch-script " +
      twin;
  const auto j = parse_json(dmltest::run_shell(bench + " --sittings 3 2>/dev/null"));
  REQUIRE(j["sittings"].size() == 3);
  const double want[] = {100, 1000000, 200};
  std::vector<double> fast_ratios;
  for (size_t k = 0; k < 3; ++k) {
    const auto& row = j["sittings"][k];
    INFO("sitting " << k + 1 << ": " << row.dump());
    CHECK(row["pytorch"].get<double>() == want[k]);
    CHECK(row["ratio_fast"].get<double>() == Approx(row["fast"].get<double>() / want[k]));
    fast_ratios.push_back(row["ratio_fast"].get<double>());
  }
  std::sort(fast_ratios.begin(), fast_ratios.end());
  CHECK(j["pytorch"]["images_per_second"].get<double>() == 200);
  CHECK(j["ratio_vs_pytorch"]["fast"].get<double>() == fast_ratios[1]);
  // A twin that succeeds on the first sitting (run 4) and fails on the second (run 5) leaves no ratio, and
  // says why: a median over the sittings that had a twin would not be the paired comparison asked for.
  const auto failed = parse_json(dmltest::run_shell(bench + " --sittings 2 2>/dev/null"));
  CHECK(read_file(count).find('5') != std::string::npos);  // both sittings ran their twin
  CHECK(!failed.contains("ratio_vs_pytorch"));
  CHECK(failed["pytorch"].is_null());
  CHECK(!failed["pytorch_error"].get<std::string>().empty());
  require_failure(run_prism("bench train --sittings 0"), {"--sittings"});
}

TEST_CASE("cli: prism bench data times decode, transform and load_batch on generated JPEGs", "[cli][bench]") {
  // Tiny: 4 JPEGs of 64 x 48 with the official transform, one pass each; no PyTorch.
  TempDir tmp;
  const std::string kept = tmp("kept");
  const auto j =
      parse_json(run_prism("bench data --images 4 --width 64 --height 48 --batch 3 --repeats 1 "
                           "--no-torch --json --threads 1 --keep-dir " +
                           kept + " 2>/dev/null"));
  CHECK(j["images"] == 4);
  CHECK(j["transform"]["crop"] == 224);
  CHECK(j["mean_jpeg_kb"].get<double>() > 0);
  for (const char* what : {"decode_ms", "transform_ms"}) {
    INFO(what);
    CHECK(j[what].get<double>() > 0);
  }
  CHECK(j["pipeline"]["images_per_second"].get<double>() > 0);
  CHECK(j["pytorch"].is_null());
  CHECK(!j.contains("ratio_vs_pytorch"));
  // --keep-dir holds the images and the list the twin reads; they decode at the size asked for.
  const auto list = read_image_list(kept + "/images.csv");
  REQUIRE(list.size() == 4);
  int w = 0, h = 0;
  CHECK(probe_image_file(kept + "/" + list.paths[3], &w, &h));
  CHECK((w == 64 && h == 48));

  // Without --keep-dir the images go to a temporary directory that is gone afterwards.
  const std::string scratch = tmp("scratch");
  fs::create_directories(scratch);
  parse_json(
      dmltest::run_shell("TMPDIR=" + scratch + " \"" + PRISM_BINARY_PATH +
                         "\" bench data --images 2 --width 32 --height 32 --repeats 1 --no-torch --json "
                         "--threads 1 2>/dev/null"));
  CHECK(fs::is_empty(scratch));

  require_failure(run_prism("bench data --images 0"), {"--images"});
  require_failure(run_prism("bench data --quality 101"), {"--quality"});
  require_failure(run_prism("bench data --config " + tmp("missing.yaml")), {"--config"});
  // The twin is told the config's whole Normalize input: BN-Inception's B, G, R at 0–255 and its mean / std
  // (a stand-in twin, run by /bin/sh, echoes the arguments it was given).
  const std::string twin = tmp("twin.sh");
  write_text(twin,
             "printf '{\"pipeline\": {\"images_per_second\": 1}, \"decode_ms\": 1, "
             "\"transform_ms\": 1, \"args\": \"%s\"}\\n' \"$*\"\n");
  const auto bgr = parse_json(dmltest::run_shell(
      "PRISM_PYTHON=/bin/sh \"" + std::string(PRISM_BINARY_PATH) + "\" bench data --config " +
      std::string(PRISM_SOURCE_DIR) +
      "/data/configs/cars98n_bninception.yaml --images 2 --width 32 --height 32 --repeats 1 --json "
      "--threads 1 --torch-script " +
      twin + " 2>/dev/null"));
  CHECK(bgr["transform"]["bgr255"] == true);
  const std::string args = bgr["pytorch"]["args"].get<std::string>();
  INFO(args);
  CHECK(args.find("--bgr255") != std::string::npos);
  CHECK(args.find("--mean 104,117,128") != std::string::npos);
  CHECK(args.find("--std 1,1,1") != std::string::npos);

  // Loading runs on the host: a device flag would be a promise the command does not keep.
  require_failure(run_prism("bench data --device cuda"), {"--device"});
}
