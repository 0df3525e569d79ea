// vMF-Sim (dml/vmf.hpp, the vmf / vmf_log clean-probability forms): the portable double exp/log against glibc,
// ln I_ν(x) against the committed scipy/mpmath grid (tests/reference/make_vmf_golden.py) and against the closed
// form of d = 3, Banerjee's κ and its clamps, and the clean probability of a small memory + batch against the
// independent double-precision golden in both modes, with exact mode bit-identical over thread counts.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "dml_test_util.hpp"
#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/dml/clean_probability.hpp"
#include "prism/dml/selector.hpp"
#include "prism/dml/vmf.hpp"

using namespace prism;
using namespace prism::dml;

namespace {

nlohmann::json load_json(const std::string& name) {
  const std::string path = std::string(PRISM_TEST_DATA_DIR) + "/dml/" + name;
  std::ifstream in(path);
  INFO(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

int64_t ordered(double x) {
  uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return (u >> 63) ? -static_cast<int64_t>(u & 0x7fffffffffffffffull) : static_cast<int64_t>(u);
}
int64_t ulp_distance(double a, double b) {
  return std::llabs(ordered(a) - ordered(b));
}

struct Golden {
  int64_t d, C, K, n;
  MemoryBank bank;
  std::vector<float> f;
  std::vector<int32_t> y;
  nlohmann::json j;
  explicit Golden(nlohmann::json js)
      : d(js["dim"]),
        C(js["num_classes"]),
        K(static_cast<int64_t>(js["memory_labels"].size())),
        n(static_cast<int64_t>(js["labels"].size())),
        bank(K, d, static_cast<int32_t>(C)),
        j(std::move(js)) {
    std::vector<float> mem;
    for (double v : j["memory"]) mem.push_back(static_cast<float>(v));
    bank.enqueue(Tensor::from_vector({K, d}, mem), j["memory_labels"].get<std::vector<int32_t>>(), {});
    for (double v : j["batch"]) f.push_back(static_cast<float>(v));
    y = j["labels"].get<std::vector<int32_t>>();
  }
  Tensor emb() const { return Tensor::from_vector({n, d}, f); }
};

}  // namespace

TEST_CASE("vmf: portable double exp and log are within 1 ulp of glibc", "[dml][vmf]") {
  Rng rng(5, RngStream::test);
  int64_t worst_exp = 0, worst_log = 0;
  double at_exp = 0, at_log = 0;
  for (int t = 0; t < 400000; ++t) {
    const double u = rng.uniform(0.0f, 1.0f) + rng.uniform(0.0f, 1.0f) * 1e-7;
    const double x = -745.0 + 1454.0 * u;  // the whole range where e^x is finite and non-zero
    const int64_t de = ulp_distance(exp_portable_d(x), std::exp(x));
    if (de > worst_exp) worst_exp = de, at_exp = x;
    const double y = std::ldexp(1.0 + u, static_cast<int>(rng.below(2000)) - 1000);  // 2^-1000 .. 2^1000
    const int64_t dl = ulp_distance(log_portable_d(y), std::log(y));
    if (dl > worst_log) worst_log = dl, at_log = y;
  }
  INFO("exp worst at " << at_exp << ", log worst at " << at_log);
  CHECK(worst_exp <= 1);
  CHECK(worst_log <= 1);
  CHECK(exp_portable_d(0.0) == 1.0);
  CHECK(log_portable_d(1.0) == 0.0);
  CHECK(exp_portable_d(-800.0) == 0.0);
  CHECK(std::isinf(exp_portable_d(710.0)));
  CHECK(std::isinf(log_portable_d(0.0)));
  CHECK(std::isnan(log_portable_d(-1.0)));
  CHECK(ulp_distance(exp_portable_d(-740.0), std::exp(-740.0)) <= 1);  // subnormal result
  CHECK(ulp_distance(log_portable_d(4.9406564584124654e-324), std::log(4.9406564584124654e-324)) <= 1);
}

TEST_CASE("vmf: ln I_nu(x) matches scipy / mpmath over nu in [0, 1024], x in [1e-3, 1e5]", "[dml][vmf]") {
  const nlohmann::json g = load_json("log_bessel_grid.json");
  REQUIRE(g["magic"] == "PRISM-LOG-BESSEL");
  const auto nu = g["nu"].get<std::vector<double>>(), x = g["x"].get<std::vector<double>>(),
             want = g["log_i"].get<std::vector<double>>();
  REQUIRE(nu.size() > 3000);
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < nu.size(); ++i) {
    const double e = std::fabs(log_bessel_i(nu[i], x[i]) - want[i]) / std::max(1.0, std::fabs(want[i]));
    if (!(e <= worst)) worst = e, at = i;  // NaN counts as worst
  }
  // The issue asks for 1e-6 relative; the algorithm measures ~1e-13 (docs/prism.md); the reference itself
  // agrees with mpmath to ~5e-15. A regression of the expansion or of exp/log shows far above 1e-11.
  INFO("worst at nu = " << nu[at] << ", x = " << x[at] << ": ours " << log_bessel_i(nu[at], x[at])
                        << ", reference " << want[at] << ", error " << worst);
  CHECK(worst < 1e-11);
  CHECK_THROWS_WITH(log_bessel_i(-1.0, 1.0), Catch::Contains("nu >= 0"));
  CHECK_THROWS_WITH(log_bessel_i(1.0, 0.0), Catch::Contains("x > 0"));
}

TEST_CASE("vmf: ln C_3 matches the closed form kappa / (4 pi sinh kappa)", "[dml][vmf]") {
  for (double kappa : {1e-3, 0.1, 1.0, 7.5, 50.0, 300.0, 699.0}) {
    CAPTURE(kappa);
    const double closed = std::log(kappa) - std::log(4.0 * M_PI) - std::log(std::sinh(kappa));
    CHECK(vmf_log_normalizer(3, kappa) == Approx(closed).epsilon(1e-12).margin(1e-12));
  }
  for (double kappa : {1e3, 1e4, 1e5}) {  // sinh overflows: ln sinh κ = κ − ln 2 + ln(1 − e^{−2κ})
    CAPTURE(kappa);
    const double closed = std::log(kappa) - std::log(4.0 * M_PI) - (kappa - std::log(2.0));
    CHECK(vmf_log_normalizer(3, kappa) == Approx(closed).epsilon(1e-12));
  }
  CHECK_THROWS_WITH(vmf_log_normalizer(1, 1.0), Catch::Contains(">= 2"));
}

TEST_CASE("vmf: Banerjee's kappa and its clamps", "[dml][vmf]") {
  CHECK(vmf_kappa_estimate(0.5, 9) == Approx(0.5 * (9 - 0.25) / 0.75));
  CHECK(vmf_kappa_estimate(1.0, 64) == kVmfKappaMax);
  CHECK(vmf_kappa_estimate(1.0000001, 64) == kVmfKappaMax);  // float rounding above 1
  CHECK(vmf_kappa_estimate(0.0, 64) == kVmfKappaMin);
  CHECK(vmf_kappa_estimate(1.0 - 1e-12, 64) == kVmfKappaMax);  // above the clamp
  CHECK(std::isnan(vmf_kappa_estimate(std::nan(""), 64)));
}

TEST_CASE("vmf: fit and clean probability match the double-precision golden, both modes", "[dml][vmf]") {
  const Mode mode = GENERATE(Mode::exact, Mode::fast);
  ScopedMode sm(mode);
  CAPTURE(mode_name(mode));
  Golden g(load_json("vmf_golden.json"));
  REQUIRE(g.j["magic"] == "PRISM-VMF");
  const VmfFit fit = vmf_fit(g.bank);
  for (int64_t k = 0; k < g.C; ++k) {
    CAPTURE(k, fit.count[k]);
    if (g.j["kappa"][k].is_null()) {
      CHECK(fit.count[k] == 0);
      CHECK(std::isnan(fit.kappa[k]));
      continue;
    }
    // The bank's centers are float means of float rows: R̄ carries ~1e-7 relative, κ and ln C_d a few times
    // that (κ's sensitivity 1/(1 − R̄²) is below 10 here).
    CHECK(fit.mean_length[k] == Approx(g.j["mean_resultant_length"][k].get<double>()).epsilon(1e-6));
    CHECK(fit.kappa[k] == Approx(g.j["kappa"][k].get<double>()).epsilon(1e-5));
    CHECK(fit.log_c[k] == Approx(g.j["log_c"][k].get<double>()).epsilon(1e-5));
  }
  const auto want_p = g.j["p_clean"].get<std::vector<double>>();
  const auto want_log = g.j["log_p_clean"].get<std::vector<double>>();
  const std::vector<float> p = clean_probability_vmf(g.emb(), g.y, g.bank);
  const std::vector<float> logp = clean_log_probability_vmf(g.emb(), g.y, g.bank);
  const std::vector<float> via_table = clean_form_spec("vmf").probability(g.emb(), g.y, g.bank);
  REQUIRE_BITWISE_EQUAL("vmf: the table row vs the function", via_table, p);
  for (int64_t i = 0; i < g.n; ++i) {
    CAPTURE(i, g.y[i]);
    // ℓ is float (|ℓ| ≲ 60 here, ulp ~4e-6): P within 1e-5, ln P within 1e-4 absolute.
    CHECK(p[i] == Approx(want_p[i]).margin(1e-5));
    CHECK(logp[i] == Approx(want_log[i]).margin(1e-4));
    if (fit.count[g.y[i]] == 0) {
      CHECK(p[i] == 1.0f);
      CHECK(logp[i] == 0.0f);
    }
  }
  // The ℓ matrix has −inf exactly in the columns of classes without rows.
  const std::vector<float> ell = class_similarity(g.emb(), g.bank, CleanForm::vmf).to_vector();
  for (int64_t i = 0; i < g.n; ++i)
    for (int64_t k = 0; k < g.C; ++k) CHECK((fit.count[k] == 0) == std::isinf(ell[i * g.C + k]));
}

TEST_CASE("vmf: single-row classes take the median kappa, the upper clamp when no class has two rows",
          "[dml][vmf]") {
  const int64_t d = 16;
  MemoryBank bank(4, d, 4);
  bank.enqueue(Tensor::from_vector({4, d}, dmltest::random_unit_rows(4, d, 3)), {0, 1, 2, 3}, {});
  const VmfFit fit = vmf_fit(bank);
  for (int64_t k = 0; k < 4; ++k) CHECK(fit.kappa[k] == kVmfKappaMax);
  // Classes 0 and 1 with 3 rows each (different spreads), 2 and 3 with one: the single ones get the mean of
  // the two (the median of an even count).
  MemoryBank mixed(8, d, 4);
  const auto rows = dmltest::random_unit_rows(8, d, 4);
  mixed.enqueue(Tensor::from_vector({8, d}, rows), {0, 0, 0, 1, 1, 1, 2, 3}, {});
  const VmfFit m = vmf_fit(mixed);
  CHECK(m.kappa[0] != m.kappa[1]);
  CHECK(m.kappa[2] == 0.5 * (m.kappa[0] + m.kappa[1]));
  CHECK(m.kappa[3] == m.kappa[2]);
}

TEST_CASE("vmf: exact mode is bit-identical with 1 and 2 threads", "[dml][vmf]") {
  ScopedMode sm(Mode::exact);
  const int64_t K = 3000, d = 64, C = 20, n = 64;
  auto labels = dmltest::random_labels(K, static_cast<int32_t>(C), 8);
  auto rows = dmltest::random_unit_rows(K, d, 9);
  for (int64_t r = 0; r < K; ++r) rows[r * d + labels[r] % d] += 3.0f;  // concentrate each class
  const auto f = dmltest::random_unit_rows(n, d, 10);
  const auto y = dmltest::random_labels(n, static_cast<int32_t>(C), 11);
  for (const char* form : {"vmf", "vmf_log"}) {
    CAPTURE(form);
    auto run = [&](int threads) {
      ScopedThreads st(threads);
      MemoryBank bank(K, d, static_cast<int32_t>(C));
      NoGradGuard no_grad;
      bank.enqueue(l2_normalize(Tensor::from_vector({K, d}, rows)), labels, {});
      return clean_form_spec(form).probability(Tensor::from_vector({n, d}, f), y, bank);
    };
    REQUIRE_BITWISE_EQUAL("vMF P_clean, 1 vs 2 threads", run(1), run(2));
  }
}
