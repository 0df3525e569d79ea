// `prism audit`: the detection metrics on hand-built cases (AUROC with ties against a pair count, precision
// at k, F1), the vote scorer and the neighbour search against brute force, the CSV / JSON / HTML structure
// (sorted worst first, one row per sample, the noisy column, inline pictures), end-to-end audits on a small
// Fashion-MNIST subset, an image list with its cleaned twin and .npy features, the error cases, and a
// screenshot of the page in headless Chromium when it is installed.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "data_fixtures.hpp"
#include "dml_test_util.hpp"
#include "prism/core/io.hpp"
#include "prism/data/image.hpp"
#include "prism/data/npy.hpp"
#include "prism/train/audit.hpp"
#include "prism/train/audit_report.hpp"

using namespace prism;
namespace fs = std::filesystem;
using dmltest::run_prism;
using dmltest::run_shell;

namespace {

const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

// Splits plain CSV lines (no quoted fields in these tests).
Csv read_csv(const std::string& path) {
  Csv c;
  std::istringstream in(read_file(path));
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, ',');) fields.push_back(f);
    if (first)
      c.header = fields;
    else
      c.rows.push_back(fields);
    first = false;
  }
  return c;
}

// Pair-count AUROC: the definition, for comparison with the mid-rank formula.
double pair_auroc(const std::vector<float>& score, const std::vector<uint8_t>& noisy) {
  double wins = 0, pairs = 0;
  for (size_t a = 0; a < score.size(); ++a)
    for (size_t b = 0; b < score.size(); ++b)
      if (noisy[a] && !noisy[b]) {
        pairs += 1;
        wins += score[a] < score[b] ? 1.0 : score[a] == score[b] ? 0.5 : 0.0;
      }
  return wins / pairs;
}

// A dataset of given labels and flags only (the report writers never load a sample of it).
class LabelOnlyDataset : public Dataset {
 public:
  LabelOnlyDataset(std::vector<int32_t> labels, std::vector<uint8_t> flags) {
    labels_ = std::move(labels);
    noise_flags_ = std::move(flags);
  }
  Shape sample_shape() const override { return {2}; }
  std::string describe() const override { return "labels only"; }
  std::string sample_source(int64_t i) const override { return "row[" + std::to_string(i) + "]"; }
  void load_sample(int64_t, bool, Rng&, float* out) const override { out[0] = out[1] = 0; }
};

// The audit's CSV is sorted worst first: scores ascending, ties by index; one row per sample.
void check_csv_sorted(const Csv& csv, int64_t n, bool with_noisy) {
  std::vector<std::string> want = {"index", "path", "label", "suggested_label", "score", "flagged"};
  if (with_noisy) want.push_back("noisy");
  REQUIRE(csv.header == want);
  REQUIRE(static_cast<int64_t>(csv.rows.size()) == n);
  std::vector<uint8_t> seen(n, 0);
  for (size_t r = 0; r < csv.rows.size(); ++r) {
    REQUIRE(csv.rows[r].size() == want.size());
    const int64_t i = std::stoll(csv.rows[r][0]);
    REQUIRE(i >= 0);
    REQUIRE(i < n);
    REQUIRE(!seen[i]);
    seen[i] = 1;
    const double s = std::stod(csv.rows[r][4]);
    REQUIRE(s >= 0.0);
    REQUIRE(s <= 1.0);
    if (r > 0) {
      const double prev = std::stod(csv.rows[r - 1][4]);
      INFO("row " << r << ": score " << s << " after " << prev);
      REQUIRE(prev <= s);
      if (prev == s) REQUIRE(std::stoll(csv.rows[r - 1][0]) < i);
    }
    REQUIRE((csv.rows[r][5] == "0" || csv.rows[r][5] == "1"));
    // flagged exactly when the suggestion differs from the given label
    REQUIRE((csv.rows[r][5] == "1") == (csv.rows[r][2] != csv.rows[r][3]));
  }
}

// Files of `dir` that an interrupted or failed audit could have left: audit.* and temporaries beside them.
std::vector<std::string> audit_temporaries(const fs::path& dir) {
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("audit", 0) == 0 && name != "audit.csv" && name != "audit.json" && name != "audit.html")
      left.push_back(name);
  }
  return left;
}

// No audit output at all in `dir` (a failed audit writes nothing).
bool no_audit_outputs(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("audit", 0) == 0 || name == "train_embeddings.npy") return false;
  }
  return true;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A small Fashion-MNIST experiment as YAML: 100 training images per class with 30% symmetric noise, batch 32
// = 4 x 8, 300 PRISM iterations (memory of 256 from iteration 20).
std::string small_fashion_mnist_yaml() {
  return std::string(
             "NAME: audit_small\nSEED: 3\nMODEL:\n  NAME: fmnist-cnn\n  HEAD:\n    DIM: 32\n"
             "SOLVER:\n  BASE_LR: 2.0e-3\n  MAX_ITERS: 300\n"
             "XBM:\n  SIZE: 256\n  START_ITERATION: 20\n"
             "NOISE:\n  METHOD: prism\n  TYPE: symmetric\n  NOISE_RATE: 0.3\n  WINDOW_SIZE: 10\n"
             "DATA:\n  DATASET: fashion-mnist\n  ROOT: ") +
         kFashionMnist +
         "\n  TRAIN_BATCHSIZE: 32\n  NUM_INSTANCES: 8\n  TEST_BATCHSIZE: 200\n  TRAIN_PER_CLASS: 100\n"
         "  TEST_PER_CLASS: 20\nVALIDATION:\n  VERBOSE: 0\nRUN:\n  MODE: fast\n  THREADS: 2\n  LOG_EVERY: "
         "50\n";
}

// The small Fashion-MNIST run, trained and audited once per test process through the command line with the
// plain vote, k = 20: on 100 images a class and a weak 300-iteration model the default weighted vote with k = 50
// flags about half the set (measured: 0.504 for 0.317 noisy), so the noise-rate bounds below are for the plain vote.
const std::string& audited_fashion_mnist_run() {
  static prism::testing::TempDir dir;
  static const std::string run = [] {
    std::ofstream(dir / "cfg.yaml") << small_fashion_mnist_yaml();
    const auto r = run_prism("audit --config " + dir / "cfg.yaml" + " --out " + dir / "run" +
                             " --quiet --show 24 --scorer knn --k 20");
    INFO(r.out);
    REQUIRE(r.code == 0);
    return dir / "run";
  }();
  return run;
}

}  // namespace

// ---- metrics -----------------------------------------------------------------------------------------------

TEST_CASE("audit: AUROC counts ties one half and equals the pair count", "[audit]") {
  // noisy {0.1, 0.2} vs clean {0.2, 0.9}: 1 + 1 + 0.5 + 1 of 4 pairs.
  CHECK(detection_auroc({0.1f, 0.2f, 0.2f, 0.9f}, {1, 1, 0, 0}) == Approx(0.875));
  CHECK(detection_auroc({0.5f, 0.5f, 0.5f}, {1, 0, 0}) == Approx(0.5));
  CHECK(detection_auroc({0.9f, 0.1f}, {1, 0}) == Approx(0.0));
  CHECK(std::isnan(detection_auroc({0.1f, 0.2f}, {1, 1})));  // no clean sample: undefined
  std::mt19937 gen(7);
  std::uniform_int_distribution<int> level(0, 9);  // few distinct values: many ties
  std::vector<float> score(300);
  std::vector<uint8_t> noisy(300);
  for (size_t i = 0; i < score.size(); ++i) {
    noisy[i] = gen() % 3 == 0;
    score[i] = static_cast<float>(level(gen) + (noisy[i] ? 0 : 3)) / 12.0f;
  }
  CHECK(detection_auroc(score, noisy) == Approx(pair_auroc(score, noisy)).epsilon(1e-12));
}

TEST_CASE("audit: precision at k and precision / recall / F1 on a hand-built case", "[audit]") {
  LabelScores s;
  s.score = {0.9f, 0.1f, 0.3f, 0.1f, 0.8f, 0.2f};
  s.flagged = {0, 1, 1, 1, 0, 0};
  s.suggested = {0, 1, 1, 1, 0, 0};
  const std::vector<uint8_t> noisy = {0, 1, 0, 1, 0, 1};
  // worst first: 1 (0.1), 3 (0.1, larger index), 5 (0.2), 2 (0.3), 4, 0
  REQUIRE(audit_order(s.score) == std::vector<int64_t>{1, 3, 5, 2, 4, 0});
  const auto order = audit_order(s.score);
  CHECK(precision_at_k(order, noisy, 1) == 1.0);
  CHECK(precision_at_k(order, noisy, 3) == 1.0);
  CHECK(precision_at_k(order, noisy, 4) == 0.75);
  CHECK(precision_at_k(order, noisy, 100) == 0.5);  // capped at N
  const DetectionMetrics m = detection_metrics(s, noisy);
  CHECK(m.noisy == 3);
  CHECK(m.flagged == 3);
  CHECK(m.true_positives == 2);
  CHECK(m.precision == Approx(2.0 / 3));
  CHECK(m.recall == Approx(2.0 / 3));
  CHECK(m.f1 == Approx(2.0 / 3));
  CHECK(m.auroc == Approx(pair_auroc(s.score, noisy)));
  // k = the number of noisy samples is always reported
  REQUIRE(m.precision_at.size() == 1);
  CHECK(m.precision_at[0].first == 3);
  CHECK(m.precision_at[0].second == 1.0);
}

// ---- scorers -----------------------------------------------------------------------------------------------

TEST_CASE("audit: the vote gives the given label's share and the best class and flags disagreement",
          "[audit]") {
  // 4 samples, k = 3; labels 0 0 1 1.
  const std::vector<int32_t> labels = {0, 0, 1, 1};
  const std::vector<int64_t> nb = {1, 2, 3,   // sample 0: votes 0, 1, 1 → share 1/3, suggested 1
                                   0, 2, 3,   // sample 1: 0, 1, 1 → 1/3, suggested 1
                                   3, 0, 1,   // sample 2: 1, 0, 0 → 1/3, suggested 0
                                   2, 0, 1};  // sample 3: 1, 0, 0
  const LabelScores u = scores_from_votes(labels, 2, nb, 3);
  CHECK(u.score[0] == Approx(1.0 / 3));
  CHECK(u.suggested == std::vector<int32_t>{1, 1, 0, 0});
  CHECK(u.flagged == std::vector<uint8_t>{1, 1, 1, 1});
  // Weighted: sample 0's neighbour of its own class weighs 2, the other two 0.5 each → own share 2/3.
  const std::vector<float> w = {2, 0.5f, 0.5f, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  const LabelScores ws = scores_from_votes(labels, 2, nb, 3, w);
  CHECK(ws.score[0] == Approx(2.0 / 3));
  CHECK(ws.suggested[0] == 0);
  CHECK(ws.flagged[0] == 0);
  // A tie between the given label and another class keeps the given label.
  const LabelScores t = scores_from_votes({0, 1, 0}, 2, {1, 2, 0, 2, 0, 1}, 2);
  CHECK(t.score[0] == Approx(0.5));
  CHECK(t.suggested[0] == 0);
  CHECK(t.flagged[0] == 0);
  CHECK_THROWS_WITH(scores_from_votes(labels, 2, {0, 1}, 3), Catch::Contains("neighbours for 4 samples"));
}

TEST_CASE("audit: a label is flagged when its support is below flag_ratio x its class's mean support",
          "[audit]") {
  // 6 samples, labels 0 0 0 1 1 1. Class 0's supports 0.9 0.9 0.3 (mean 0.7, half 0.35): sample 2 flagged
  // although no single other class beats its label; class 1's 0.2 0.2 0.2 (mean 0.2): none flagged although
  // samples 3 and 4 have a better-supported other class (a confusable class judged by its own standard).
  LabelScores s(6);
  const std::vector<int32_t> labels = {0, 0, 0, 1, 1, 1};
  s.support = {0.9f, 0.9f, 0.3f, 0.2f, 0.2f, 0.2f};
  s.score = s.support;
  s.best_other = {1, 1, 2, 0, 2, -1};
  s.suggested = {0, 0, 0, 0, 2, 1};  // the raw vote's, replaced by the rule's
  flag_weak_labels(s, labels, 3, 0.5);
  CHECK(s.flagged == std::vector<uint8_t>{0, 0, 1, 0, 0, 0});
  CHECK(s.suggested == std::vector<int32_t>{0, 0, 2, 1, 1, 1});
  // ratio 1.5: thresholds 1.05 and 0.3 put every support below its class's, but sample 5 has no other class
  // to suggest and stays unflagged.
  flag_weak_labels(s, labels, 3, 1.5);
  CHECK(s.flagged == std::vector<uint8_t>{1, 1, 1, 1, 1, 0});
  CHECK(s.suggested == std::vector<int32_t>{1, 1, 2, 0, 2, 1});
  flag_weak_labels(s, labels, 3, 0.0);  // ratio 0 flags nothing
  CHECK(s.flagged == std::vector<uint8_t>(6, 0));
  CHECK_THROWS_WITH(flag_weak_labels(s, labels, 3, -1), Catch::Contains("--flag-ratio"));
  CHECK_THROWS_WITH(flag_weak_labels(s, {0, 1}, 3, 0.5), Catch::Contains("differ in size"));
}

TEST_CASE("audit: nearest neighbours exclude the sample itself and come best first with ties by index",
          "[audit]") {
  const int64_t n = 40, d = 6, k = 5;
  std::vector<float> e = dmltest::random_unit_rows(n, d, 11);
  // Rows 30..33 identical: ties, which must come out by index.
  for (int64_t i = 31; i < 34; ++i)
    for (int64_t t = 0; t < d; ++t) e[i * d + t] = e[30 * d + t];
  const Tensor emb = Tensor::from_vector({n, d}, e);
  const std::vector<int64_t> nb = nearest_neighbours(emb, k);
  REQUIRE(static_cast<int64_t>(nb.size()) == n * k);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<std::pair<float, int64_t>> all;
    for (int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      float s = 0;
      for (int64_t t = 0; t < d; ++t) s = std::fma(e[i * d + t], e[j * d + t], s);
      all.emplace_back(-s, j);
    }
    std::sort(all.begin(), all.end());
    for (int64_t m = 0; m < k; ++m) {
      INFO("row " << i << " rank " << m);
      CHECK(nb[i * k + m] == all[m].second);
    }
  }
  CHECK(nb[30 * k + 0] == 31);
  CHECK(nb[30 * k + 1] == 32);
  CHECK(nb[30 * k + 2] == 33);
  CHECK(nearest_neighbours(Tensor::from_vector({1, 2}, {1, 0}), 3).empty());  // one sample: no neighbours
}

TEST_CASE("audit: every scorer of the table finds labels flipped inside well-separated clusters", "[audit]") {
  // 3 tight clusters of 30 in 8-D; 6 labels flipped.
  const int64_t n = 90, d = 8;
  std::vector<float> e = dmltest::random_unit_rows(n, d, 5);
  std::vector<int32_t> labels(n);
  std::vector<uint8_t> noisy(n, 0);
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = static_cast<int32_t>(i / 30);
    for (int64_t t = 0; t < d; ++t) e[i * d + t] = 0.1f * e[i * d + t] + (t == labels[i] ? 1.0f : 0.0f);
  }
  for (int64_t i : {3, 17, 40, 55, 71, 88}) {
    labels[i] = (labels[i] + 1) % 3;
    noisy[i] = 1;
  }
  for (const AuditScorerSpec& spec : audit_scorers()) {
    INFO("scorer " << spec.name);
    AuditOptions o;
    o.scorer = spec.name;
    o.k = 10;
    const LabelScores s = spec.score(Tensor::from_vector({n, d}, e), labels, 3, o);
    const DetectionMetrics m = detection_metrics(s, noisy);
    CHECK(m.auroc == 1.0);
    CHECK(m.flagged == 6);
    CHECK(m.true_positives == 6);
    for (int64_t i : {3, 17, 40, 55, 71, 88}) CHECK(s.suggested[i] == static_cast<int32_t>(i / 30));
  }
  CHECK_THROWS_WITH(audit_scorer("nope"), Catch::Contains("knn, knn-weighted, knn-propagated, center"));
}

TEST_CASE("audit: knn-propagated equals its definition computed by plain loops", "[audit]") {
  // 40 random unit rows in 4-D, 3 labels: every score against Σ_j w_ij p_j^{-i} / Σ_j w_ij recomputed here
  // from the dot products, with i's own vote taken out of each neighbour's shares.
  const int64_t n = 40, d = 4, k = 6;
  const double temperature = 0.2;
  const std::vector<float> e = dmltest::random_unit_rows(n, d, 9);
  std::vector<int32_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<int32_t>((i * 7) % 3);
  AuditOptions o;
  o.scorer = "knn-propagated";
  o.k = k;
  o.temperature = temperature;
  const Tensor emb = Tensor::from_vector({n, d}, e);
  const LabelScores s = audit_scorer(o.scorer).score(emb, labels, 3, o);
  const std::vector<int64_t> nb = nearest_neighbours(emb, k);
  auto dot = [&](int64_t a, int64_t b) {
    float v = 0;
    for (int64_t t = 0; t < d; ++t) v += e[a * d + t] * e[b * d + t];
    return v;
  };
  auto weight = [&](int64_t a, int64_t m) {  // weight of a's m-th neighbour
    return std::exp((double(dot(a, nb[a * k + m])) - double(dot(a, nb[a * k]))) / temperature);
  };
  for (int64_t i = 0; i < n; ++i) {
    double p[3] = {0, 0, 0}, sum = 0;
    for (int64_t m = 0; m < k; ++m) {
      const int64_t j = nb[i * k + m];
      double q[3] = {0, 0, 0}, total = 0;
      for (int64_t t = 0; t < k; ++t) {
        if (nb[j * k + t] == i) continue;  // i left out
        q[labels[nb[j * k + t]]] += weight(j, t);
        total += weight(j, t);
      }
      if (total <= 0) continue;
      sum += weight(i, m);
      for (int c = 0; c < 3; ++c) p[c] += weight(i, m) * q[c] / total;
    }
    INFO("sample " << i << " label " << labels[i]);
    const double own = p[labels[i]] / sum;
    CHECK(s.score[i] == Approx(own).epsilon(1e-5));
  }
  // Suggestion and flag are those of the direct weighted vote.
  o.scorer = "knn-weighted";
  const LabelScores direct = audit_scorer(o.scorer).score(emb, labels, 3, o);
  CHECK(s.suggested == direct.suggested);
  CHECK(s.flagged == direct.flagged);
}

// ---- the report writers ------------------------------------------------------------------------------------

TEST_CASE("audit: the CSV / JSON / HTML of hand-built scores", "[audit]") {
  LabelOnlyDataset d({0, 1, 1, 2, 0}, {0, 1, 0, 0, 1});
  LabelScores s;
  s.score = {0.8f, 0.1f, 0.6f, 0.6f, 0.2f};
  s.suggested = {0, 2, 1, 0, 1};
  s.flagged = {0, 1, 0, 1, 1};
  AuditSummary sum;
  sum.samples = 5;
  sum.flagged = 3;
  sum.estimated_noise_rate = 0.6;
  sum.has_noise_flags = true;
  sum.metrics = detection_metrics(s, d.noise_flags());
  AuditReportInput in;
  in.train = &d;
  in.scores = &s;
  in.summary = &sum;
  in.label_values = {10, 20, 30};  // the dataset's own label values
  const std::string csv = audit_csv(in);
  CHECK(csv ==
        "index,path,label,suggested_label,score,flagged,noisy\n"
        "1,row[1],20,30,0.1,1,1\n"
        "4,row[4],10,20,0.2,1,1\n"
        "2,row[2],20,20,0.6,0,0\n"
        "3,row[3],30,10,0.6,1,0\n"
        "0,row[0],10,10,0.8,0,0\n");
  const nlohmann::json j = nlohmann::json::parse(audit_json(in).dump());
  CHECK(j["samples"] == 5);
  CHECK(j["flagged"] == 3);
  CHECK(j["estimated_noise_rate"].get<double>() == Approx(0.6));
  CHECK(j["noisy"] == 2);
  CHECK(j["true_positives"] == 2);
  CHECK(j["precision"].get<double>() == Approx(2.0 / 3));
  CHECK(j["recall"].get<double>() == 1.0);
  CHECK(j["f1"].get<double>() == Approx(0.8));
  CHECK(j["auroc"].get<double>() == Approx(1.0));
  REQUIRE(j["precision_at_k"].size() == 1);
  CHECK(j["precision_at_k"][0]["k"] == 2);
  CHECK(j["precision_at_k"][0]["precision"] == 1.0);
  REQUIRE(j["per_class"].size() == 3);
  CHECK(j["per_class"][1] == nlohmann::json({{"label", 20}, {"samples", 2}, {"flagged", 1}}));
  // Without flags: no noisy column, no metrics.
  LabelOnlyDataset plain({0, 1, 1, 2, 0}, {});
  sum.has_noise_flags = false;
  in.train = &plain;
  CHECK(audit_csv(in).rfind("index,path,label,suggested_label,score,flagged\n1,row[1],", 0) == 0);
  const nlohmann::json j2 = nlohmann::json::parse(audit_json(in).dump());
  CHECK(!j2.contains("auroc"));
  CHECK(j2["has_noise_flags"] == false);
  // Feature data: the page shows indices, no pictures; the script and the filters are there.
  in.show = 3;
  const std::string html = audit_html(in);
  CHECK(html.rfind("<!doctype html>", 0) == 0);
  CHECK(count_of(html, "<div class=\"card") == 3);
  CHECK(count_of(html, "data:image/png") == 0);
  CHECK(html.find("index 1<br>") != std::string::npos);
  CHECK(html.find("id=\"fg\"") != std::string::npos);
  CHECK(html.find("id=\"fs\"") != std::string::npos);
  CHECK(html.find("<script>") != std::string::npos);
  CHECK(html.find("http") == std::string::npos);  // self-contained: nothing fetched
}

// ---- end to end --------------------------------------------------------------------------------------------

TEST_CASE("audit: a small Fashion-MNIST run with 30% noise end to end through the command line",
          "[audit][train]") {
  const std::string run = audited_fashion_mnist_run();
  const Csv csv = read_csv(run + "/audit.csv");
  check_csv_sorted(csv, 1000, true);
  int64_t noisy = 0;
  for (const auto& r : csv.rows) noisy += r[6] == "1";
  CHECK(noisy > 250);
  CHECK(noisy < 350);
  const nlohmann::json j = nlohmann::json::parse(read_file(run + "/audit.json"));
  CHECK(j["samples"] == 1000);
  CHECK(j["noisy"] == noisy);
  CHECK(j["scorer"] == "knn");
  // 300 iterations on 1000 images is a weak model; far better than chance all the same.
  INFO("audit.json: " << j.dump());
  CHECK(j["auroc"].get<double>() > 0.8);
  CHECK(j["f1"].get<double>() > 0.5);
  const double rate = j["estimated_noise_rate"].get<double>();
  CHECK(rate > 0.15);
  CHECK(rate < 0.5);
  // The page: 24 suspects, each with its picture; the class examples defined once as CSS rules.
  const std::string html = read_file(run + "/audit.html");
  CHECK(count_of(html, "<div class=\"card") == 24);
  CHECK(count_of(html, "<div class=\"pic\" style=\"background-image:url(data:image/png;base64,") == 24);
  CHECK(count_of(html, "{background-image:url(data:image/png;base64,") >= 8);
  CHECK(html.find("Ankle boot") != std::string::npos);
  CHECK(html.find("</html>") != std::string::npos);
  CHECK(fs::exists(run + "/train_embeddings.npy"));

  // --run reuses the finished run (its cached embeddings) and writes the same files.
  const std::string before = read_file(run + "/audit.csv");
  const auto again = run_prism("audit --run " + run + " --show 24 --scorer knn --k 20 --json");
  INFO(again.out);
  REQUIRE(again.code == 0);
  CHECK(read_file(run + "/audit.csv") == before);
  // Another scorer on the same run.
  const auto center = run_prism("audit --run " + run + " --scorer center --json");
  REQUIRE(center.code == 0);
  const nlohmann::json jc = nlohmann::json::parse(read_file(run + "/audit.json"));
  CHECK(jc["scorer"] == "center");
  CHECK(jc["auroc"].get<double>() > 0.7);
}

TEST_CASE("audit: the page renders in headless Chromium (skipped without it)", "[audit][browser]") {
  const auto which = run_shell("command -v chromium || command -v chromium-browser");
  if (which.code != 0) {
    WARN("chromium not found: the screenshot test is skipped");
    return;
  }
  std::string chromium = which.out.substr(0, which.out.find('\n'));
  const std::string run = audited_fashion_mnist_run();
  const std::string shot = run + "/screenshot.png";
  fs::remove(shot);
  const auto r = run_shell("timeout 120 \"" + chromium +
                           "\" --headless --no-sandbox --disable-gpu --hide-scrollbars --screenshot=" + shot +
                           " --window-size=1200,900 file://" + run + "/audit.html");
  INFO(r.out);
  REQUIRE(fs::exists(shot));
  const Image im = decode_image_file(shot);
  CHECK(im.width == 1200);
  CHECK(im.height == 900);
  // Not a blank page: dark pixels (text, the black picture backgrounds) and light ones (the page).
  int64_t dark = 0, light = 0;
  for (size_t p = 0; p + 2 < im.pixels.size(); p += 3) {
    const int v = im.pixels[p] + im.pixels[p + 1] + im.pixels[p + 2];
    dark += v < 150;
    light += v > 600;
  }
  const int64_t total = static_cast<int64_t>(im.pixels.size() / 3);
  CHECK(dark > total / 100);
  CHECK(light > total / 4);
}

TEST_CASE("audit: an image list with its cleaned twin gives the noisy column and inline pictures",
          "[audit][train]") {
  prism::testing::TempDir dir;
  // 4 classes x 24 images of 16 x 16: each class its own colour; 3 images of each class listed under the next
  // class (the noisy list), the cleaned twin lists the others.
  const uint8_t colours[4][3] = {{220, 30, 30}, {30, 200, 40}, {40, 60, 230}, {230, 220, 40}};
  std::string noisy, cleaned;  // PRISM lists: path,label per line, no header
  for (int c = 0; c < 4; ++c)
    for (int i = 0; i < 24; ++i) {
      Image im = prism::testing::solid_image(16, 16, colours[c][0], colours[c][1], colours[c][2]);
      for (size_t p = 0; p < im.pixels.size(); p += 7)
        im.pixels[p] = static_cast<uint8_t>(im.pixels[p] ^ (i * 5));
      const std::string name = "img/c" + std::to_string(c) + "_" + std::to_string(i) + ".png";
      prism::testing::write_bytes(dir / name, encode_png(im));
      const bool flip = i < 3;
      noisy += name + "," + std::to_string(flip ? (c + 1) % 4 : c) + "\n";
      if (!flip) cleaned += name + "," + std::to_string(c) + "\n";
    }
  std::ofstream(dir / "train.csv") << noisy;
  std::ofstream(dir / "train_cleaned.csv") << cleaned;
  std::ofstream(dir / "test.csv") << cleaned;
  std::ofstream(dir / "cfg.yaml") << "SEED: 1\nMODEL:\n  NAME: fmnist-cnn\n  HEAD:\n    DIM: 16\nSOLVER:\n  "
                                     "BASE_LR: 2.0e-3\n  MAX_ITERS: 40\n"
                                     "XBM:\n  SIZE: 64\n  START_ITERATION: 10\nNOISE:\n  METHOD: prism\n  "
                                     "NOISE_RATE: 0.1\n  WINDOW_SIZE: 5\n"
                                     "DATA:\n  DATASET: list\n  ROOT: "
                                  << dir.path.string() << "\n  TRAIN_IMG_SOURCE: " << dir / "train.csv"
                                  << "\n  TRAIN_CLEAN_SOURCE: " << dir / "train_cleaned.csv"
                                  << "\n  TEST_IMG_SOURCE: " << dir / "test.csv"
                                  << "\n  TRAIN_BATCHSIZE: 16\n  NUM_INSTANCES: 4\n  TEST_BATCHSIZE: 32\n"
                                     "INPUT:\n  ORIGIN_SIZE: [16]\n  CROP_SIZE: [16]\n  FLIP_PROB: 0.0\n"
                                     "VALIDATION:\n  VERBOSE: 0\nRUN:\n  MODE: fast\n  THREADS: 2\n";
  const auto r =
      run_prism("audit --config " + dir / "cfg.yaml" + " --out " + dir / "run" + " --quiet --k 10");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const Csv csv = read_csv(dir / "run/audit.csv");
  check_csv_sorted(csv, 96, true);
  int64_t noisy_rows = 0;
  for (const auto& row : csv.rows) {
    noisy_rows += row[6] == "1";
    CHECK(row[1].find("/img/c") != std::string::npos);  // the image's path
  }
  CHECK(noisy_rows == 12);
  const std::string html = read_file(dir / "run/audit.html");
  CHECK(count_of(html, "<div class=\"pic\" style=\"background-image:url(data:image/png;base64,") == 60);

  // An image of the list goes missing after the run: a later --run audit names it in one line, exits 1 and
  // leaves the earlier audit's files as they were (even though the embeddings are cached).
  const std::string csv_before = read_file(dir / "run/audit.csv"),
                    json_before = read_file(dir / "run/audit.json");
  REQUIRE(fs::exists(dir / "run/train_embeddings.npy"));
  fs::remove(dir / "img/c2_7.png");
  const auto gone = run_prism("audit --run " + dir / "run" + " --k 10");
  INFO(gone.out);
  CHECK(gone.code == 1);
  CHECK(count_of(gone.out, "prism: error: ") == 1);
  CHECK(gone.out.find("img/c2_7.png") != std::string::npos);
  CHECK(gone.out.find("restore the image or remove its line") != std::string::npos);
  CHECK(read_file(dir / "run/audit.csv") == csv_before);
  CHECK(read_file(dir / "run/audit.json") == json_before);
  CHECK(audit_temporaries(dir / "run").empty());
}

TEST_CASE("audit: .npy features have no pictures so the page shows indices", "[audit][train]") {
  prism::testing::TempDir dir;
  const int64_t n = 240, d = 8;
  std::vector<float> e = dmltest::random_unit_rows(n, d, 21);
  std::vector<int32_t> y(n);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<int32_t>(i % 4);
    for (int64_t t = 0; t < d; ++t) e[i * d + t] = 0.3f * e[i * d + t] + (t == y[i] ? 1.0f : 0.0f);
  }
  write_npy_f32(dir / "x.npy", {n, d}, e);
  write_npy_i32(dir / "y.npy", y);
  write_npy_f32(dir / "xt.npy", {n, d}, e);
  write_npy_i32(dir / "yt.npy", y);
  std::ofstream(dir / "cfg.yaml")
      << "SEED: 2\nMODEL:\n  NAME: mlp\n  HEAD:\n    DIM: 8\n  MLP:\n    HIDDEN: [16]\n"
         "SOLVER:\n  BASE_LR: 5.0e-3\n  MAX_ITERS: 60\nXBM:\n  SIZE: 64\n  START_ITERATION: 10\n"
         "NOISE:\n  METHOD: prism\n  TYPE: symmetric\n  NOISE_RATE: 0.2\n  WINDOW_SIZE: 5\n"
         "DATA:\n  DATASET: npy\n  TRAIN_FEATURES: "
      << dir / "x.npy"
      << "\n  TRAIN_LABELS: " << dir / "y.npy"
      << "\n  TEST_FEATURES: " << dir / "xt.npy"
      << "\n  TEST_LABELS: " << dir / "yt.npy"
      << "\n  TRAIN_BATCHSIZE: 16\n  NUM_INSTANCES: 4\n  TEST_BATCHSIZE: 64\n"
         "VALIDATION:\n  VERBOSE: 0\nRUN:\n  MODE: exact\n  THREADS: 2\n";
  const auto r =
      run_prism("audit --config " + dir / "cfg.yaml" + " --out " + dir / "run" + " --quiet --show 10");
  INFO(r.out);
  REQUIRE(r.code == 0);
  check_csv_sorted(read_csv(dir / "run/audit.csv"), n, true);
  const std::string html = read_file(dir / "run/audit.html");
  CHECK(count_of(html, "<div class=\"card") == 10);
  CHECK(count_of(html, "data:image/png") == 0);
  CHECK(count_of(html, "<span class=\"idx\">#") >= 10);
  const nlohmann::json j = nlohmann::json::parse(read_file(dir / "run/audit.json"));
  INFO(j.dump());
  CHECK(j["auroc"].get<double>() > 0.8);
}

// ---- errors ------------------------------------------------------------------------------------------------

TEST_CASE("audit: bad input stops with one line naming the culprit", "[audit][errors]") {
  prism::testing::TempDir dir;
  auto one_line_error = [](const dmltest::RunResult& r, const std::string& what) {
    INFO(r.out);
    CHECK(r.code == 1);
    // One error line, naming the culprit (progress lines such as the noise count may precede it).
    CHECK(count_of(r.out, "prism: error: ") == 1);
    const std::string line = r.out.substr(r.out.find("prism: error: "));
    CHECK(line.find(what) != std::string::npos);
    CHECK(count_of(line, "\n") == 1);
  };
  // Not a run directory; a run directory with a config but no model (nor cached embeddings).
  fs::create_directories(dir / "empty");
  one_line_error(run_prism("audit --run " + dir / "empty"), "no config.yaml there");
  std::ofstream(dir / "empty/config.yaml") << "DATA:\n  DATASET: fashion-mnist\n";
  one_line_error(run_prism("audit --run " + dir / "empty"),
                 "neither checkpoint.safetensors nor train_embeddings.npy");
  CHECK(no_audit_outputs(dir / "empty"));  // nothing half-written
  one_line_error(run_prism("audit --out " + dir / "x"), "audit needs --config FILE --out DIR, or --run DIR");
  // A list whose image is gone: the line names the file.
  prism::testing::write_bytes(dir / "a.png", encode_png(prism::testing::solid_image(8, 8, 1, 2, 3)));
  std::ofstream(dir / "list.csv") << "a.png,0\nmissing.png,1\n";
  std::ofstream(dir / "cfg.yaml") << "DATA:\n  DATASET: list\n  ROOT: " << dir.path.string()
                                  << "\n  SPLIT: open\n  TRAIN_IMG_SOURCE: " << dir / "list.csv"
                                  << "\n";
  const auto missing = run_prism("audit --config " + dir / "cfg.yaml" + " --out " + dir / "run2 --quiet");
  one_line_error(missing, dir / "missing.png");
  CHECK(missing.out.find("restore the image or remove its line") != std::string::npos);
  CHECK((!fs::exists(dir / "run2") || no_audit_outputs(dir / "run2")));
  // Cached embeddings that do not fit the run's training set.
  fs::create_directories(dir / "stale");
  std::ofstream(dir / "stale/config.yaml") << small_fashion_mnist_yaml();
  write_npy_f32(dir / "stale/train_embeddings.npy", {3, 2}, {1, 0, 0, 1, 1, 0});
  one_line_error(run_prism("audit --run " + dir / "stale"), "3 rows, but the run's training set has 1000");
  CHECK(audit_temporaries(dir / "stale").empty());
  CHECK(!fs::exists(dir / "stale/audit.csv"));
  // Numeric flags out of range: one short line that names the flag and the bound (CLI11's own range message
  // would print the largest double in full).
  for (const auto& [flags, want] : std::vector<std::pair<std::string, std::string>>{
           {"--temperature -1", "prism: error: --temperature: -1 is not > 0\n"},
           {"--flag-ratio -0.5", "prism: error: --flag-ratio: -0.5 is not >= 0\n"},
           {"--flag-ratio abc", "prism: error: --flag-ratio: abc is not a number\n"}}) {
    const auto r = run_prism("audit --run " + dir / "stale " + flags);
    INFO(flags << ": " << r.out);
    CHECK(r.code > 0);
    CHECK(r.code < 128);
    CHECK(r.out == want);
  }
}
