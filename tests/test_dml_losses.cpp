// Multi-similarity and SoftTriple losses: pytorch-metric-learning golden values (tests/reference/
// make_loss_golden.py) in both modes, the kernels against central differences in double (gradcheck), masks
// vs gathering, thread independence, SoftTriple's centers and the losses' edge cases.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>

#include "dml_test_util.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/npy.hpp"
#include "prism/dml/contrastive.hpp"
#include "prism/dml/multi_similarity.hpp"
#include "prism/dml/softtriple.hpp"
#include "prism/kernels/dml.hpp"

using namespace prism;
using namespace prism::dml;

namespace {

std::vector<float> golden_f32(const std::string& loss, const std::string& name) {
  return read_npy_f32_matrix(std::string(PRISM_TEST_DATA_DIR) + "/dml/" + loss + "_" + name + ".npy").values;
}
std::vector<int32_t> golden_i32(const std::string& loss, const std::string& name) {
  return read_npy_labels(std::string(PRISM_TEST_DATA_DIR) + "/dml/" + loss + "_" + name + ".npy");
}

int64_t count_kept(const std::vector<int32_t>& keep) {
  return std::count_if(keep.begin(), keep.end(), [](int32_t k) { return k != 0; });
}

// Golden comparison: pml computes in float32 with libm's exp / log and its own summation order, prism with
// the portable exp / log (≤ 1 ulp) in the canonical order; β = 50 and λ = 20 scale an input's rounding into
// the exponents, so values agree to a few 1e-6 relative. The tolerance: 2e-5 relative plus 1e-6 absolute
// (gradients near 0).
void check_close(const char* what, const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO(what << " element " << i << ": prism " << got[i] << ", pml " << want[i]);
    CHECK(got[i] == Approx(want[i]).epsilon(2e-5).margin(1e-6));
  }
}

// Central differences of f (in double) against the analytic gradient, entry by entry.
void gradcheck(const char* what, std::vector<double>& x, const std::function<double()>& f,
               const std::vector<double>& analytic, double h = 1e-6) {
  REQUIRE(analytic.size() == x.size());
  for (size_t k = 0; k < x.size(); ++k) {
    const double keep = x[k];
    x[k] = keep + h;
    const double up = f();
    x[k] = keep - h;
    const double down = f();
    x[k] = keep;
    const double numeric = (up - down) / (2 * h);
    INFO(what << ": entry " << k << ", analytic " << analytic[k] << ", central difference " << numeric);
    CHECK(analytic[k] == Approx(numeric).epsilon(1e-5).margin(1e-7));
  }
}

}  // namespace

// ---- golden values -----------------------------------------------------------------------------------------

TEST_CASE("multi_similarity: pytorch-metric-learning golden values (loss + miner, batch and memory)",
          "[dml][losses]") {
  const Mode mode = GENERATE(Mode::exact, Mode::fast);
  ScopedMode sm(mode);
  CAPTURE(mode_name(mode));
  const auto meta = golden_i32("ms", "meta");
  REQUIRE(meta.size() == 5);
  REQUIRE(meta[0] == 0x50524953);  // "PRIS"
  REQUIRE(meta[1] == 1);
  const int64_t n = meta[2], m = meta[3], d = meta[4];
  const auto f = golden_f32("ms", "emb"), v = golden_f32("ms", "memory");
  const auto y = golden_i32("ms", "labels"), ym = golden_i32("ms", "memory_labels");
  const auto keep = golden_i32("ms", "keep");
  const Tensor labels = label_tensor(y, DeviceType::cpu);
  const Tensor keep_t = Tensor::from_vector_i32({n}, keep);
  const MultiSimilarityLoss loss;

  SECTION("batch loss: the kept samples against each other, divided by the number kept") {
    Tensor F = Tensor::from_vector({n, d}, f);
    F.set_requires_grad();
    Tensor l = batch_loss(loss, F, labels, keep_t, count_kept(keep));
    l.backward();
    check_close("batch loss", l.to_vector(), golden_f32("ms", "batch_loss"));
    check_close("batch gradient (symmetric: rows and columns)", F.grad().to_vector(),
                golden_f32("ms", "batch_grad"));
  }
  SECTION("memory loss: the batch against the memory, removed rows masked, divided by n") {
    Tensor F = Tensor::from_vector({n, d}, f);
    F.set_requires_grad();
    Tensor l = memory_loss(loss, F, labels, keep_t, Tensor::from_vector({m, d}, v),
                           label_tensor(ym, DeviceType::cpu));
    l.backward();
    check_close("memory loss", l.to_vector(), golden_f32("ms", "memory_loss"));
    check_close("memory gradient", F.grad().to_vector(), golden_f32("ms", "memory_grad"));
  }
}

TEST_CASE("softtriple: pytorch-metric-learning golden values (SoftTripleLoss + the original regulariser)",
          "[dml][losses]") {
  const Mode mode = GENERATE(Mode::exact, Mode::fast);
  ScopedMode sm(mode);
  CAPTURE(mode_name(mode));
  const auto meta = golden_i32("softtriple", "meta");
  REQUIRE(meta.size() == 6);
  REQUIRE(meta[0] == 0x50524953);
  REQUIRE(meta[1] == 1);
  const int64_t n = meta[2], classes = meta[3], K = meta[4], d = meta[5];
  REQUIRE(K == SoftTripleOptions{}.centers_per_class);
  const auto keep = golden_i32("softtriple", "keep");
  SoftTripleLoss loss(static_cast<int32_t>(classes), d, 0);
  loss.parameter_module()->load_state(
      {{"centers", Tensor::from_vector({classes * K, d}, golden_f32("softtriple", "centers"))}});
  Tensor F = Tensor::from_vector({n, d}, golden_f32("softtriple", "emb"));
  F.set_requires_grad();
  Tensor l = batch_loss(loss, F, label_tensor(golden_i32("softtriple", "labels"), DeviceType::cpu),
                        Tensor::from_vector_i32({n}, keep), count_kept(keep));
  l.backward();
  check_close("loss", l.to_vector(), golden_f32("softtriple", "loss"));
  check_close("embedding gradient", F.grad().to_vector(), golden_f32("softtriple", "emb_grad"));
  check_close("center gradient", loss.centers().centers.grad().to_vector(),
              golden_f32("softtriple", "center_grad"));
}

// ---- the kernels in double: central differences ------------------------------------------------------------

TEST_CASE("multi_similarity: kernel gradient equals central differences of the kernel loss (double)",
          "[dml][losses][gradcheck]") {
  const bool batch = GENERATE(false, true);
  const bool masked = GENERATE(false, true);
  const int64_t R = 6, C = batch ? 6 : 15;
  CAPTURE(batch, masked);
  const auto y = dmltest::random_labels(R, 3, 31), yc = batch ? y : dmltest::random_labels(C, 3, 32);
  std::vector<int32_t> rm(R, 1), cm(C, 1);
  if (masked) rm[1] = 0, cm[batch ? 1 : 4] = 0;
  if (batch) cm = rm;
  // Similarities on a 0.037 grid plus a small offset: every pair is ≥ 0.004 from a mining threshold (the
  // thresholds are ε = 0.1 from other grid points), so a step of 1e-6 never flips a pair.
  Rng rng(33, RngStream::test);
  std::vector<double> sim(R * C);
  for (auto& s : sim) s = -0.3 + 0.037 * rng.below(36) + 1e-3 * rng.uniform();
  MultiSimilarityParams p;
  p.skip_diagonal = batch ? 1 : 0;
  std::vector<double> rows(R), stats(R * kern::kMsStats);
  auto total = [&]() {
    double t = 0;
    for (int64_t i = 0; i < R; ++i) {
      kern::ms_row<double>(rows.data(), stats.data(), sim.data(), y.data(), yc.data(), rm.data(), cm.data(),
                           C, p, i);
      t += rows[i];
    }
    return t;
  };
  total();
  std::vector<double> analytic(R * C);
  for (int64_t idx = 0; idx < R * C; ++idx)
    analytic[idx] = kern::ms_grad_one<double>(sim.data(), stats.data(), y.data(), yc.data(), rm.data(),
                                              cm.data(), C, p, 1.0, idx);
  int64_t active = 0;
  for (double g : analytic) active += g != 0.0;
  INFO("pairs with a gradient: " << active << " of " << R * C);
  CHECK(active > R);  // the case exercises the mining, not an empty loss
  gradcheck("multi_similarity dsim", sim, total, analytic);
}

TEST_CASE("softtriple: kernel gradients equal central differences (double), loss and regulariser",
          "[dml][losses][gradcheck]") {
  const int64_t R = 5, classes = 4, K = 3, d = 6;
  const auto y = dmltest::random_labels(R, classes, 41);
  std::vector<int32_t> rm(R, 1);
  rm[2] = 0;
  Rng rng(42, RngStream::test);
  std::vector<double> sim(R * classes * K);
  for (auto& s : sim) s = rng.uniform(-0.6f, 0.9f);
  const SoftTripleParams p;
  std::vector<double> rows(R), lse(R);
  auto loss_total = [&]() {
    double t = 0;
    for (int64_t i = 0; i < R; ++i) {
      kern::softtriple_row<double>(rows.data(), lse.data(), sim.data(), y.data(), rm.data(), classes, K, p,
                                   i);
      t += rows[i];
    }
    return t;
  };
  loss_total();
  std::vector<double> analytic(sim.size());
  for (size_t idx = 0; idx < sim.size(); ++idx)
    analytic[idx] = kern::softtriple_grad_one<double>(sim.data(), lse.data(), y.data(), rm.data(), classes, K,
                                                      p, 1.0, static_cast<int64_t>(idx));
  gradcheck("softtriple dsim", sim, loss_total, analytic);

  // The regulariser as a function of the (unit) centers; the gradient is checked for free perturbations.
  std::vector<double> centers(classes * K * d);
  for (auto& c : centers) c = rng.uniform(-1.0f, 1.0f);
  for (int64_t g = 0; g < classes * K; ++g) {
    double ss = 0;
    for (int64_t k = 0; k < d; ++k) ss += centers[g * d + k] * centers[g * d + k];
    for (int64_t k = 0; k < d; ++k) centers[g * d + k] /= std::sqrt(ss);
  }
  std::vector<double> reg(classes * K), dfac(classes * K * K);
  auto reg_total = [&]() {
    double t = 0;
    for (int64_t g = 0; g < classes * K; ++g) {
      kern::softtriple_reg_row<double>(reg.data(), dfac.data(), centers.data(), K, d, g);
      t += reg[g];
    }
    return t;
  };
  reg_total();
  std::vector<double> reg_grad(centers.size());
  for (size_t idx = 0; idx < centers.size(); ++idx)
    reg_grad[idx] = kern::softtriple_reg_grad_one<double>(dfac.data(), centers.data(), K, d, 1.0,
                                                          static_cast<int64_t>(idx));
  gradcheck("softtriple regulariser dcenters", centers, reg_total, reg_grad);
}

// ---- the op: masks, threads, edge cases ---------------------------------------------------------------------

TEST_CASE("multi_similarity: masking rows and columns equals gathering the kept samples (exact, n <= 256)",
          "[dml][losses]") {
  ScopedMode sm(Mode::exact);
  const int64_t n = 40, d = 8;
  const auto f = dmltest::random_unit_rows(n, d, 51);
  const auto y = dmltest::random_labels(n, 4, 52);
  Rng rng(53, RngStream::test);
  std::vector<int32_t> keep(n);
  for (auto& k : keep) k = rng.uniform() < 0.6f;
  std::vector<float> fk;
  std::vector<int32_t> yk, idx;
  for (int64_t i = 0; i < n; ++i)
    if (keep[i]) {
      fk.insert(fk.end(), f.begin() + i * d, f.begin() + (i + 1) * d);
      yk.push_back(y[i]);
      idx.push_back(static_cast<int32_t>(i));
    }
  const int64_t nk = static_cast<int64_t>(yk.size());
  const MultiSimilarityLoss loss;
  Tensor F = Tensor::from_vector({n, d}, f), Fk = Tensor::from_vector({nk, d}, fk);
  F.set_requires_grad();
  Fk.set_requires_grad();
  Tensor masked =
      batch_loss(loss, F, label_tensor(y, DeviceType::cpu), Tensor::from_vector_i32({n}, keep), nk);
  Tensor gathered = batch_loss(loss, Fk, label_tensor(yk, DeviceType::cpu), Tensor(), nk);
  REQUIRE(masked.item() > 0.0f);
  REQUIRE(masked.item() == gathered.item());
  masked.backward();
  gathered.backward();
  const auto g = F.grad().to_vector(), gk = Fk.grad().to_vector();
  std::vector<float> g_kept;
  for (int32_t i : idx) g_kept.insert(g_kept.end(), g.begin() + i * d, g.begin() + (i + 1) * d);
  REQUIRE_BITWISE_EQUAL("masked vs gathered gradient of the kept rows", g_kept, gk);
  for (int64_t i = 0; i < n; ++i)
    if (!keep[i])
      for (int64_t k = 0; k < d; ++k) REQUIRE(g[i * d + k] == 0.0f);
}

TEST_CASE("multi_similarity and softtriple: exact mode is bit-identical for 1 and 2 threads",
          "[dml][losses]") {
  ScopedMode sm(Mode::exact);
  const int64_t n = 300, m = 700, d = 16, classes = 60;
  const auto f = dmltest::random_unit_rows(n, d, 61), v = dmltest::random_unit_rows(m, d, 62);
  const auto y = dmltest::random_labels(n, classes, 63), ym = dmltest::random_labels(m, classes, 64);
  std::vector<int32_t> keep(n);
  Rng rng(65, RngStream::test);
  for (auto& k : keep) k = rng.uniform() < 0.7f;
  const Tensor labels = label_tensor(y, DeviceType::cpu), keep_t = Tensor::from_vector_i32({n}, keep);
  auto run = [&](int threads) {
    ScopedThreads st_threads(threads);
    std::vector<float> out;
    const MultiSimilarityLoss ms;
    SoftTripleLoss st(static_cast<int32_t>(classes), d, 7);
    for (int which = 0; which < 3; ++which) {
      Tensor F = Tensor::from_vector({n, d}, f);
      F.set_requires_grad();
      Tensor l = which == 0   ? batch_loss(ms, F, labels, keep_t, count_kept(keep))
                 : which == 1 ? memory_loss(ms, F, labels, keep_t, Tensor::from_vector({m, d}, v),
                                            label_tensor(ym, DeviceType::cpu))
                              : batch_loss(st, F, labels, keep_t, count_kept(keep));
      l.backward();
      out.push_back(l.item());
      const auto g = F.grad().to_vector();
      out.insert(out.end(), g.begin(), g.end());
    }
    const auto gc = st.centers().centers.grad().to_vector();
    out.insert(out.end(), gc.begin(), gc.end());
    return out;
  };
  const auto one = run(1), two = run(2);
  REQUIRE_BITWISE_EQUAL("losses and gradients, 1 vs 2 threads", one, two);
}

TEST_CASE("multi_similarity: edge cases", "[dml][losses]") {
  const MultiSimilarityLoss loss;
  const Tensor F = Tensor::from_vector({3, 2}, {1, 0, 0, 1, 1, 1});
  SECTION("nothing kept: 0 with no gradient") {
    Tensor l = batch_loss(loss, F, label_tensor({0, 0, 1}, DeviceType::cpu),
                          Tensor::from_vector_i32({3}, {0, 0, 0}), 0);
    CHECK(l.item() == 0.0f);
    CHECK_FALSE(l.requires_grad());
  }
  SECTION("a batch with a single class has no negatives: nothing is mined, the loss is 0") {
    Tensor G = Tensor::from_vector({3, 2}, {1, 0, 0, 1, 1, 1});
    G.set_requires_grad();
    Tensor l = batch_loss(loss, G, label_tensor({2, 2, 2}, DeviceType::cpu), Tensor(), 3);
    CHECK(l.item() == 0.0f);
  }
  SECTION("bad inputs name the loss and the argument") {
    CHECK_THROWS_WITH(batch_loss(loss, F, label_tensor({0, 1}, DeviceType::cpu), Tensor(), 3),
                      Catch::Contains("multi_similarity_loss") && Catch::Contains("row_labels"));
    CHECK_THROWS_WITH(
        memory_loss(loss, F, label_tensor({0, 1, 1}, DeviceType::cpu), Tensor(),
                    Tensor::from_vector({2, 3}, {1, 0, 0, 0, 1, 0}), label_tensor({0, 1}, DeviceType::cpu)),
        Catch::Contains("different widths"));
  }
}

TEST_CASE("softtriple: centers, memory and edge cases", "[dml][losses]") {
  SECTION("the centers are a pure function of the seed, named 'centers'") {
    SoftTripleLoss a(4, 8, 5), b(4, 8, 5), c(4, 8, 6);
    REQUIRE(a.parameter_module()->named_parameters().size() == 1);
    CHECK(a.parameter_module()->named_parameters()[0].first == "centers");
    CHECK(a.centers().centers.shape() == Shape{40, 8});
    REQUIRE_BITWISE_EQUAL("same seed", a.centers().centers.to_vector(), b.centers().centers.to_vector());
    CHECK(a.centers().centers.to_vector() != c.centers().centers.to_vector());
  }
  SECTION("no memory term: the memory loss is 0, other columns are refused") {
    SoftTripleLoss loss(3, 2, 0);
    Tensor F = Tensor::from_vector({2, 2}, {1, 0, 0, 1});
    F.set_requires_grad();
    const Tensor y = label_tensor({0, 2}, DeviceType::cpu);
    Tensor mem = memory_loss(loss, F, y, Tensor(), Tensor::from_vector({2, 2}, {1, 0, 0, 1}), y);
    CHECK(mem.item() == 0.0f);
    CHECK_FALSE(mem.requires_grad());
    CHECK_THROWS_WITH(
        loss.pairs(F, y, Tensor::from_vector({2, 2}, {1, 0, 0, 1}), y, Tensor(), Tensor(), 2.0f),
        Catch::Contains("softtriple") && Catch::Contains("memory"));
  }
  SECTION("row mask = gathering the kept rows (exact)") {
    ScopedMode sm(Mode::exact);
    const int64_t n = 12, d = 8;
    const auto f = dmltest::random_unit_rows(n, d, 71);
    const auto y = dmltest::random_labels(n, 5, 72);
    std::vector<int32_t> keep = {1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0};
    std::vector<float> fk;
    std::vector<int32_t> yk;
    for (int64_t i = 0; i < n; ++i)
      if (keep[i]) fk.insert(fk.end(), f.begin() + i * d, f.begin() + (i + 1) * d), yk.push_back(y[i]);
    const int64_t nk = static_cast<int64_t>(yk.size());
    SoftTripleLoss a(5, d, 3), b(5, d, 3);
    Tensor masked = batch_loss(a, Tensor::from_vector({n, d}, f), label_tensor(y, DeviceType::cpu),
                               Tensor::from_vector_i32({n}, keep), nk);
    Tensor gathered =
        batch_loss(b, Tensor::from_vector({nk, d}, fk), label_tensor(yk, DeviceType::cpu), Tensor(), nk);
    REQUIRE(masked.item() == gathered.item());
    masked.backward();
    gathered.backward();
    REQUIRE_BITWISE_EQUAL("center gradients", a.centers().centers.grad().to_vector(),
                          b.centers().centers.grad().to_vector());
  }
  SECTION("a label outside the classes is an error naming it") {
    SoftTripleLoss loss(3, 2, 0);
    Tensor F = Tensor::from_vector({2, 2}, {1, 0, 0, 1});
    CHECK_THROWS_WITH(batch_loss(loss, F, label_tensor({0, 3}, DeviceType::cpu), Tensor(), 2),
                      Catch::Contains("label 3 outside [0, 3)"));
  }
}
