// PRISM selection: clean probability (center form = full form, against the definition in double, empty
// classes, threads), every branch of sTRM (first step, q = 1.0, NaN, threshold keeps nobody, r = 0, ties),
// the window over a sequence of batches, TRM, oracle, none, warm-up, statistics, window save/restore.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "dml_test_util.hpp"
#include "prism/core/runtime.hpp"
#include "prism/dml/selector.hpp"

using namespace prism;
using namespace prism::dml;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// A filled memory bank over C classes (class `empty_class` left without rows) and a batch.
struct Fixture {
  int64_t K, d, C, n;
  MemoryBank bank;
  std::vector<float> f;
  std::vector<int32_t> y;
  Fixture(int64_t K_, int64_t d_, int64_t C_, int64_t n_, int32_t empty_class, uint64_t seed)
      : K(K_), d(d_), C(C_), n(n_), bank(K_, d_, static_cast<int32_t>(C_)) {
    auto rows = dmltest::random_unit_rows(K, d, seed);
    auto labels = dmltest::random_labels(K, static_cast<int32_t>(C), seed + 1);
    for (auto& l : labels)
      if (l == empty_class) l = (l + 1) % static_cast<int32_t>(C);
    bank.enqueue(Tensor::from_vector({K, d}, rows), labels, {});
    f = dmltest::random_unit_rows(n, d, seed + 2);
    y = dmltest::random_labels(n, static_cast<int32_t>(C), seed + 3);
  }
  Tensor emb() const { return Tensor::from_vector({n, d}, f); }
};

// P_clean by the definition in double: T(i,k) = mean_j f_i · v_j over class k's rows, softmax over k.
std::vector<double> p_clean_definition(const Fixture& fx) {
  const auto v = fx.bank.embeddings().to_vector();
  const auto lab = fx.bank.labels();
  std::vector<double> p(fx.n);
  for (int64_t i = 0; i < fx.n; ++i) {
    std::vector<double> T(fx.C, 0.0);
    std::vector<int64_t> cnt(fx.C, 0);
    for (int64_t j = 0; j < fx.bank.size(); ++j) {
      double s = 0;
      for (int64_t k = 0; k < fx.d; ++k) s += double(fx.f[i * fx.d + k]) * v[j * fx.d + k];
      T[lab[j]] += s;
      ++cnt[lab[j]];
    }
    double z = 0;
    for (int64_t k = 0; k < fx.C; ++k) {
      if (cnt[k]) T[k] /= cnt[k];
      z += std::exp(T[k]);
    }
    p[i] = cnt[fx.y[i]] == 0 ? 1.0 : std::exp(T[fx.y[i]]) / z;
  }
  return p;
}

Selector make(SelectMethod m, double rate, int64_t window = 30, int64_t warmup = 0) {
  SelectorConfig cfg;
  cfg.method = m;
  cfg.noise_rate = rate;
  cfg.window = window;
  cfg.warmup = warmup;
  return Selector(cfg);
}

std::vector<uint8_t> keep_of(std::initializer_list<int> v) {
  return std::vector<uint8_t>(v.begin(), v.end());
}

}  // namespace

TEST_CASE("clean probability: both forms match the definition, empty classes", "[dml]") {
  const Mode mode = GENERATE(Mode::exact, Mode::fast);
  const CleanForm form = GENERATE(CleanForm::center, CleanForm::full);
  ScopedMode sm(mode);
  CAPTURE(mode_name(mode), clean_form_name(form));
  Fixture fx(500, 16, 6, 20, /*empty_class=*/4, 10);
  const auto want = p_clean_definition(fx);
  const auto got = form == CleanForm::center ? clean_probability_center(fx.emb(), fx.y, fx.bank)
                                             : clean_probability_full(fx.emb(), fx.y, fx.bank);
  for (int64_t i = 0; i < fx.n; ++i) {
    CAPTURE(i, fx.y[i]);
    CHECK(got[i] == Approx(want[i]).margin(1e-6));
    if (fx.y[i] == 4) CHECK(got[i] == 1.0f);  // own class without memory rows
  }
}

TEST_CASE("clean probability: center form equals full form", "[dml]") {
  // Fast mode: within 1e-6. Exact mode: the two forms round differently (Σ_j (f·v_j) / m vs f · (Σ_j v_j /
  // m)), so we guarantee |T_center − T_full| ≤ 2·(d + 256 + ⌈m/256⌉ + 2)·2⁻²⁴ for unit rows, m = the largest
  // class's row count (docs/prism.md), and bit equality when every class has at most one row.
  const Mode mode = GENERATE(Mode::exact, Mode::fast);
  ScopedMode sm(mode);
  CAPTURE(mode_name(mode));
  Fixture fx(1200, 64, 5, 32, -1, 20);  // ~240 rows per class
  const auto pc = clean_probability_center(fx.emb(), fx.y, fx.bank);
  const auto pf = clean_probability_full(fx.emb(), fx.y, fx.bank);
  const auto Tc = class_similarity(fx.emb(), fx.bank, CleanForm::center).to_vector();
  const auto Tf = class_similarity(fx.emb(), fx.bank, CleanForm::full).to_vector();
  const double u = std::ldexp(1.0, -24), bound = 2.0 * (64 + 256 + 5 + 2) * u;  // ⌈m/256⌉ ≤ ⌈1200/256⌉ = 5
  double worst_T = 0, worst_p = 0;
  for (size_t i = 0; i < Tc.size(); ++i) worst_T = std::max(worst_T, std::abs(double(Tc[i]) - Tf[i]));
  for (size_t i = 0; i < pc.size(); ++i) worst_p = std::max(worst_p, std::abs(double(pc[i]) - pf[i]));
  INFO("max |T_center - T_full| = " << worst_T << ", max |P_center - P_full| = " << worst_p);
  CHECK(worst_T <= bound);
  CHECK(worst_p <= 1e-6);

  SECTION("one row per class: bit-identical in exact mode") {
    ScopedMode exact(Mode::exact);
    MemoryBank single(6, 64, 6);
    single.enqueue(Tensor::from_vector({6, 64}, dmltest::random_unit_rows(6, 64, 30)), {3, 0, 5, 1, 2, 4},
                   {});
    const auto a = clean_probability_center(fx.emb(), dmltest::random_labels(32, 6, 31), single);
    const auto b = clean_probability_full(fx.emb(), dmltest::random_labels(32, 6, 31), single);
    REQUIRE_BITWISE_EQUAL("center vs full with singleton classes", a, b);
  }
}

TEST_CASE("clean probability: exact mode is bit-identical with 1 and 2 threads", "[dml]") {
  ScopedMode sm(Mode::exact);
  Fixture fx(2000, 128, 30, 64, 7, 40);
  for (CleanForm form : {CleanForm::center, CleanForm::full}) {
    CAPTURE(clean_form_name(form));
    auto run = [&](int threads) {
      ScopedThreads st(threads);
      MemoryBank copy(fx.K, fx.d, static_cast<int32_t>(fx.C));
      StateDict s;
      fx.bank.save_state(s);
      copy.load_state(s);
      return form == CleanForm::center ? clean_probability_center(fx.emb(), fx.y, copy)
                                       : clean_probability_full(fx.emb(), fx.y, copy);
    };
    REQUIRE_BITWISE_EQUAL("P_clean, 1 vs 2 threads", run(1), run(2));
  }
}

TEST_CASE("sTRM: first batch appends q and keeps P > q", "[dml]") {
  Selector s = make(SelectMethod::prism, 0.5);
  const std::vector<float> p = {0.9f, 0.2f, 0.6f, 0.4f, 0.8f, 0.1f};
  const Selection sel = s.select_from_probabilities(p);
  CHECK(sel.r == 3);
  CHECK(sel.candidates == std::vector<int64_t>{5, 1, 3});
  CHECK(sel.window_appended);
  CHECK(s.window() == std::deque<float>{0.4f});
  CHECK(sel.threshold == double(0.4f));
  CHECK(sel.keep == keep_of({1, 0, 1, 0, 1, 0}));
  CHECK_FALSE(sel.fallback);
}

TEST_CASE("sTRM: q = 1.0 is not appended, an empty window removes the r candidates", "[dml]") {
  Selector s = make(SelectMethod::prism, 0.5);
  // Two samples of classes without memory rows (P = 1) and two with: candidates are the lowest two.
  const Selection a = s.select_from_probabilities({1.0f, 1.0f, 1.0f, 1.0f});
  CHECK(a.candidates == std::vector<int64_t>{0, 1});  // ties by index
  CHECK_FALSE(a.window_appended);
  CHECK(s.window().empty());
  CHECK(a.keep == keep_of({0, 0, 1, 1}));
  CHECK(a.threshold == 1.0);
}

TEST_CASE("sTRM: NaN probabilities rank lowest, keep q out of the window and are removed", "[dml]") {
  SECTION("empty window") {
    Selector s = make(SelectMethod::prism, 0.5);
    const Selection a = s.select_from_probabilities({0.7f, kNaN, 0.3f, 0.9f});
    CHECK(a.candidates == std::vector<int64_t>{1, 2});
    CHECK(std::isnan(a.threshold));
    CHECK_FALSE(a.window_appended);
    CHECK(s.window().empty());
    CHECK(a.keep == keep_of({1, 0, 0, 1}));
  }
  SECTION("window in place: NaN > threshold is false") {
    Selector s = make(SelectMethod::prism, 0.25);
    s.set_window({0.5f});
    const Selection a = s.select_from_probabilities({0.7f, kNaN, 0.3f, 0.9f});
    CHECK(a.candidates == std::vector<int64_t>{1});
    CHECK(s.window() == std::deque<float>{0.5f});
    CHECK(a.keep == keep_of({1, 0, 0, 1}));
  }
}

TEST_CASE("sTRM: a threshold that keeps nobody removes the r candidates and cuts the window", "[dml]") {
  Selector s = make(SelectMethod::prism, 0.5, 5);
  s.set_window({0.95f, 0.97f});
  const Selection a = s.select_from_probabilities({0.3f, 0.2f, 0.5f, 0.4f});
  // q = 0.3 enters the window; mean(0.95, 0.97, 0.3) ≈ 0.74 keeps nobody.
  CHECK(a.window_appended);
  CHECK(a.fallback);
  CHECK(a.keep == keep_of({0, 0, 1, 1}));
  CHECK(s.window() == std::deque<float>{0.3f});
  CHECK(a.threshold == double(0.3f));
}

TEST_CASE("sTRM: ties are broken by index, and equality with the threshold removes", "[dml]") {
  Selector s = make(SelectMethod::prism, 0.5);
  const Selection a = s.select_from_probabilities({0.5f, 0.5f, 0.5f, 0.5f});
  CHECK(a.candidates == std::vector<int64_t>{0, 1});
  // q = 0.5 → window [0.5] → P > 0.5 keeps nobody → fallback to the candidates.
  CHECK(a.fallback);
  CHECK(a.keep == keep_of({0, 0, 1, 1}));
  CHECK(s.window() == std::deque<float>{0.5f});
}

TEST_CASE("sTRM and TRM: r = floor(R · n) = 0 keeps everything and leaves the window alone", "[dml]") {
  for (SelectMethod m : {SelectMethod::prism, SelectMethod::trm}) {
    Selector s = make(m, 0.3);
    s.set_window({0.4f});
    const Selection a = s.select_from_probabilities({0.1f, 0.2f, 0.3f});  // floor(0.9) = 0
    CHECK(a.r == 0);
    CHECK_FALSE(a.selected);
    CHECK(a.keep == keep_of({1, 1, 1}));
    CHECK(s.window() == std::deque<float>{0.4f});
  }
  // floor in double like the official int(R · n): 0.3 · 10 = 3.0000000000000004 → 3.
  Selector s = make(SelectMethod::trm, 0.3);
  CHECK(s.select_from_probabilities(std::vector<float>(10, 0.5f)).r == 3);
}

TEST_CASE("sTRM: the window over a sequence of batches keeps the last tau thresholds", "[dml]") {
  Selector s = make(SelectMethod::prism, 0.25, 3);
  // n = 4, r = 1: q is the lowest P of each batch; batch 4 is all 1.0 (q = 1.0, not appended).
  struct Step {
    std::vector<float> p;
    std::deque<float> window;
    std::vector<uint8_t> keep;
  };
  const std::vector<Step> steps = {
      {{0.2f, 0.9f, 0.95f, 0.99f}, {0.2f}, keep_of({0, 1, 1, 1})},
      {{0.4f, 0.9f, 0.95f, 0.99f}, {0.2f, 0.4f}, keep_of({1, 1, 1, 1})},  // 0.4 > 0.3
      {{0.6f, 0.9f, 0.95f, 0.99f}, {0.2f, 0.4f, 0.6f}, keep_of({1, 1, 1, 1})},
      {{0.3f, 0.9f, 0.95f, 0.99f}, {0.4f, 0.6f, 0.3f}, keep_of({0, 1, 1, 1})},  // oldest dropped
      {{1.0f, 1.0f, 1.0f, 1.0f}, {0.4f, 0.6f, 0.3f}, keep_of({1, 1, 1, 1})},    // q = 1.0
      {{0.5f, 0.9f, 0.95f, 0.99f}, {0.6f, 0.3f, 0.5f}, keep_of({1, 1, 1, 1})},
  };
  for (size_t b = 0; b < steps.size(); ++b) {
    CAPTURE(b);
    const Selection sel = s.select_from_probabilities(steps[b].p);
    REQUIRE(s.window() == steps[b].window);
    double mean = 0;
    for (float v : steps[b].window) mean += v;
    mean /= static_cast<double>(steps[b].window.size());
    CHECK(sel.threshold == mean);
    CHECK(sel.keep == steps[b].keep);
  }
}

TEST_CASE("sTRM: the window smooths the cut: a clean batch keeps more than r", "[dml]") {
  Selector s = make(SelectMethod::prism, 0.5, 30);
  s.set_window({0.1f, 0.1f, 0.1f});
  const Selection a = s.select_from_probabilities({0.3f, 0.35f, 0.4f, 0.45f});  // q = 0.35
  CHECK(a.threshold == Approx((0.1 + 0.1 + 0.1 + double(0.35f)) / 4));
  CHECK(a.keep == keep_of({1, 1, 1, 1}));
}

TEST_CASE("TRM removes exactly the r lowest without a window", "[dml]") {
  Selector s = make(SelectMethod::trm, 0.5);
  const Selection a = s.select_from_probabilities({0.9f, 0.2f, 0.6f, 0.4f});
  CHECK(a.keep == keep_of({1, 0, 1, 0}));
  CHECK(s.window().empty());
  CHECK(a.threshold == double(0.4f));
}

TEST_CASE("selector: none, oracle, warm-up, empty memory, statistics", "[dml]") {
  Fixture fx(100, 8, 4, 6, -1, 50);
  const std::vector<uint8_t> flags = {0, 1, 0, 1, 0, 0};
  SECTION("none keeps everything; statistics from the flags") {
    Selector s = make(SelectMethod::none, 0.5);
    const Selection a = s.select(0, fx.emb(), fx.y, &fx.bank, &flags);
    CHECK(a.keep == std::vector<uint8_t>(6, 1));
    CHECK(a.stats.kept_ratio == 1.0);
    CHECK(a.stats.precision == Approx(4.0 / 6.0));
    CHECK(a.stats.recall == 0.0);
  }
  SECTION("oracle drops exactly the noisy samples") {
    Selector s = make(SelectMethod::oracle, 0.5);
    const Selection a = s.select(0, fx.emb(), fx.y, &fx.bank, &flags);
    CHECK(a.keep == keep_of({1, 0, 1, 0, 1, 1}));
    CHECK(a.stats.precision == 1.0);
    CHECK(a.stats.recall == 1.0);
    CHECK_THROWS_WITH(s.select(0, fx.emb(), fx.y, &fx.bank, nullptr), Catch::Contains("noise flags"));
  }
  SECTION("warm-up keeps everything before iteration W") {
    Selector s = make(SelectMethod::prism, 0.5, 30, 3);
    CHECK_FALSE(s.select(2, fx.emb(), fx.y, &fx.bank).selected);
    CHECK(s.window().empty());
    const Selection a = s.select(3, fx.emb(), fx.y, &fx.bank);
    CHECK(a.selected);
    CHECK(a.stats.kept <= 3);
    CHECK(a.p_clean.size() == 6);
  }
  SECTION("an empty memory keeps everything") {
    MemoryBank empty(10, 8, 4);
    Selector s = make(SelectMethod::prism, 0.5);
    const Selection a = s.select(0, fx.emb(), fx.y, &empty);
    CHECK_FALSE(a.selected);
    CHECK(a.keep == std::vector<uint8_t>(6, 1));
    CHECK(s.window().empty());
  }
  SECTION("statistics: precision = clean share of kept, recall = share of noisy removed") {
    const SelectionStats st = selection_stats(keep_of({1, 1, 0, 0, 1, 0}), &flags);
    CHECK(st.kept == 3);
    CHECK(st.clean_kept == 2);
    CHECK(st.precision == Approx(2.0 / 3.0));
    CHECK(st.noisy_removed == 1);
    CHECK(st.recall == Approx(0.5));
    CHECK(std::isnan(selection_stats(keep_of({1, 0}), nullptr).precision));
  }
}

TEST_CASE("selector: the window saves and restores", "[dml]") {
  Selector a = make(SelectMethod::prism, 0.5, 4);
  for (float q : {0.2f, 0.3f, 0.25f}) a.select_from_probabilities({q, 0.8f});
  StateDict state;
  a.save_state(state);
  Selector b = make(SelectMethod::prism, 0.5, 4);
  b.load_state(state);
  CHECK(b.window() == a.window());
  const std::vector<float> p = {0.26f, 0.9f};
  CHECK(a.select_from_probabilities(p).keep == b.select_from_probabilities(p).keep);
  CHECK(a.window() == b.window());
  Selector c = make(SelectMethod::prism, 0.5, 5);
  CHECK_THROWS_WITH(c.load_state(state), Catch::Contains("window size 4"));
}

TEST_CASE("selector: bad configuration and inputs", "[dml]") {
  CHECK_THROWS_WITH(make(SelectMethod::prism, 1.5), Catch::Contains("noise rate"));
  CHECK_THROWS_WITH(make(SelectMethod::prism, 0.5, 0), Catch::Contains("window size"));
  CHECK_THROWS_WITH(parse_select_method("topk"), Catch::Contains("topk"));
  Fixture fx(50, 8, 4, 6, -1, 60);
  std::vector<int32_t> bad = fx.y;
  bad[2] = 9;
  CHECK_THROWS_WITH(clean_probability_center(fx.emb(), bad, fx.bank), Catch::Contains("label 9"));
}

// ---- kNN rule and the log-scale form ---------------------------------------------------------------------

namespace {

// Five memory rows on the unit circle: slot 0 at 10° (class 0), 1 at 20° (class 1), 2 at −20° (class 2, the
// same cosine to (1, 0) as slot 1 exactly), 3 at 30° (class 0), 4 at 90° (class 2); class 3 has no rows.
MemoryBank knn_bank() {
  MemoryBank bank(8, 2, 4);
  const double deg = M_PI / 180.0;
  std::vector<float> rows;
  for (double a : {10.0, 20.0, -20.0, 30.0, 90.0}) {
    rows.push_back(static_cast<float>(std::cos(a * deg)));
    rows.push_back(static_cast<float>(std::sin(a * deg)));
  }
  bank.enqueue(Tensor::from_vector({5, 2}, rows), {0, 1, 2, 0, 2}, {});
  return bank;
}

Tensor along_x(int64_t n) {  // n copies of (1, 0)
  std::vector<float> f(2 * n, 0.0f);
  for (int64_t i = 0; i < n; ++i) f[2 * i] = 1.0f;
  return Tensor::from_vector({n, 2}, f);
}

}  // namespace

TEST_CASE("knn: scores by hand, the tie at the k-th place goes to the lower slot", "[dml][knn]") {
  const Mode mode = GENERATE(Mode::exact, Mode::fast);
  ScopedMode sm(mode);
  MemoryBank bank = knn_bank();
  const std::vector<int32_t> y = {0, 1, 2, 3};
  // k = 2: slot 0, then slots 1 and 2 tie (cos 20°) and slot 1 wins → votes {0: 1, 1: 1}; class 3 has no rows.
  CHECK(knn_scores(along_x(4), y, bank, 2) == std::vector<float>{1.0f, 1.0f, 0.0f, 1.0f});
  // k = 4: slots 0..3 → votes {0: 2, 1: 1, 2: 1}.
  CHECK(knn_scores(along_x(4), y, bank, 4) == std::vector<float>{1.0f, 0.5f, 0.5f, 1.0f});
  // k = 10 > 5 rows: every row → votes {0: 2, 1: 1, 2: 2}.
  CHECK(knn_scores(along_x(4), y, bank, 10) == std::vector<float>{1.0f, 0.5f, 1.0f, 1.0f});
  CHECK_THROWS_WITH(knn_scores(along_x(4), {0, 1, 2, 4}, bank, 2), Catch::Contains("label 4"));
  CHECK_THROWS_WITH(knn_scores(along_x(3), y, bank, 2), Catch::Contains("4 labels"));
}

TEST_CASE("knn: the rule keeps score >= alpha, with statistics, warm-up and an empty memory", "[dml][knn]") {
  MemoryBank bank = knn_bank();
  const std::vector<int32_t> y = {0, 1, 2, 3};
  const std::vector<uint8_t> flags = {0, 1, 1, 0};
  auto knn = [](int64_t k, double alpha, int64_t warmup = 0) {
    SelectorConfig cfg;
    cfg.method = SelectMethod::knn;
    cfg.knn_k = k;
    cfg.knn_alpha = alpha;
    cfg.warmup = warmup;
    cfg.noise_rate = 0.0;  // not used by the rule
    return Selector(cfg);
  };
  Selector half = knn(4, 0.5);
  Selection s = half.select(0, along_x(4), y, &bank, &flags);
  CHECK(s.keep == keep_of({1, 1, 1, 1}));  // 0.5 is not below α = 0.5
  CHECK(s.threshold == 0.5);
  CHECK(s.selected);
  CHECK(s.p_clean == std::vector<float>{1.0f, 0.5f, 0.5f, 1.0f});
  Selector strict = knn(4, 0.6);
  s = strict.select(0, along_x(4), y, &bank, &flags);
  CHECK(s.keep == keep_of({1, 0, 0, 1}));
  CHECK(s.stats.kept == 2);
  CHECK(s.stats.precision == 1.0);
  CHECK(s.stats.recall == 1.0);
  CHECK(strict.window().empty());  // no window
  Selector late = knn(4, 0.6, /*warmup=*/5);
  CHECK(late.select(4, along_x(4), y, &bank, &flags).keep == keep_of({1, 1, 1, 1}));
  MemoryBank empty(8, 2, 4);
  CHECK(strict.select(0, along_x(4), y, &empty, &flags).keep == keep_of({1, 1, 1, 1}));
  CHECK_THROWS_WITH(knn(0, 0.5), Catch::Contains("k must be >= 1"));
  CHECK_THROWS_WITH(knn(3, 1.5), Catch::Contains("alpha"));
  CHECK_THROWS_WITH(make(SelectMethod::prism, 0.5).select_from_knn_scores({1.0f}), Catch::Contains("knn"));
}

TEST_CASE("vmf_log: sTRM treats ln P = 0 as certainly clean (not a threshold)", "[dml][vmf]") {
  for (const char* form : {"center", "vmf_log"}) {
    CAPTURE(form);
    SelectorConfig cfg;
    cfg.method = SelectMethod::prism;
    cfg.noise_rate = 0.5;
    cfg.form = parse_clean_form(form);
    Selector sel(cfg);
    // r = 2: the candidates are −1 (index 3) and 0 (index 0), so q = 0.
    const Selection s = sel.select_from_probabilities({0.0f, 0.0f, 0.0f, -1.0f});
    CHECK(s.candidates == std::vector<int64_t>{3, 0});
    const bool log_scale = std::string(form) == "vmf_log";
    CHECK(s.window_appended == !log_scale);  // q = 0 is a usable threshold for P, "certain" for ln P
    if (log_scale) CHECK(s.keep == keep_of({0, 1, 1, 0}));  // empty window: the candidates removed
  }
}
