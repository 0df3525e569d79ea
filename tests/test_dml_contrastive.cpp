// Contrastive loss: the per-pair kernels and the differentiable op against explicit loops in double, against
// PyTorch golden values (tests/reference/make_dml_golden.py), masks vs gathering, threads, and edge cases.
#include <catch2/catch.hpp>

#include <cmath>

#include "dml_test_util.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/npy.hpp"
#include "prism/dml/contrastive.hpp"

using namespace prism;
using namespace prism::dml;

namespace {

struct PairRef {
  double loss = 0;
  std::vector<float> dsim;  // for d loss = 1
};

// The definition, one pair at a time: active positive (same label, s < 1 − eps) adds 1 − s, active negative
// (s > margin) adds s; rows and columns masked; sum divided by the divisor.
PairRef explicit_pairs(const std::vector<float>& sim, const std::vector<int32_t>& yr,
                       const std::vector<int32_t>& yc, const std::vector<int32_t>& rm,
                       const std::vector<int32_t>& cm, double divisor) {
  const size_t R = yr.size(), C = yc.size();
  PairRef ref;
  ref.dsim.assign(R * C, 0.0f);
  const float scale = 1.0f / static_cast<float>(divisor);
  for (size_t i = 0; i < R; ++i)
    for (size_t j = 0; j < C; ++j) {
      if ((!rm.empty() && !rm[i]) || (!cm.empty() && !cm[j])) continue;
      const float s = sim[i * C + j];
      if (yr[i] == yc[j] && s < 1.0f - 1e-5f) {
        ref.loss += 1.0 - s;
        ref.dsim[i * C + j] = -scale;
      } else if (yr[i] != yc[j] && s > 0.5f) {
        ref.loss += s;
        ref.dsim[i * C + j] = scale;
      }
    }
  ref.loss /= divisor;
  return ref;
}

std::vector<float> load_f32(const std::string& name) {
  return read_npy_f32_matrix(std::string(PRISM_TEST_DATA_DIR) + "/dml/contrastive_" + name + ".npy").values;
}
std::vector<int32_t> load_i32(const std::string& name) {
  return read_npy_labels(std::string(PRISM_TEST_DATA_DIR) + "/dml/contrastive_" + name + ".npy");
}

}  // namespace

TEST_CASE("contrastive: loss and dsim match the explicit pair loop", "[dml]") {
  const Mode mode = GENERATE(Mode::exact, Mode::fast);
  const int64_t R = GENERATE(1, 7, 300), C = GENERATE(5, 600);
  const bool masked = GENERATE(false, true);
  ScopedMode sm(mode);
  CAPTURE(mode_name(mode), R, C, masked);
  Rng rng(11, RngStream::test);
  std::vector<float> sim(R * C);
  for (auto& s : sim) s = rng.uniform(-1.0f, 1.0f);
  const auto yr = dmltest::random_labels(R, 4, 1), yc = dmltest::random_labels(C, 4, 2);
  std::vector<int32_t> rm, cm;
  if (masked) {
    for (int64_t i = 0; i < R; ++i) rm.push_back(rng.uniform() < 0.7f);
    for (int64_t j = 0; j < C; ++j) cm.push_back(rng.uniform() < 0.6f);
  }
  const double divisor = 3.0;
  const PairRef ref = explicit_pairs(sim, yr, yc, rm, cm, divisor);

  Tensor S = Tensor::from_vector({R, C}, sim);
  S.set_requires_grad();
  Tensor rmask = masked ? Tensor::from_vector_i32({R}, rm) : Tensor();
  Tensor cmask = masked ? Tensor::from_vector_i32({C}, cm) : Tensor();
  Tensor loss = contrastive_loss_from_similarity(S, label_tensor(yr, DeviceType::cpu),
                                                 label_tensor(yc, DeviceType::cpu), rmask, cmask,
                                                 static_cast<float>(divisor));
  CHECK(loss.item() == Approx(ref.loss).epsilon(1e-6).margin(1e-6));
  if (ref.loss > 0) {
    loss.backward();
    REQUIRE_BITWISE_EQUAL("dsim", S.grad().to_vector(), ref.dsim);
  }
}

TEST_CASE("contrastive: gradients through the similarity reach rows and columns", "[dml]") {
  const Mode mode = GENERATE(Mode::exact, Mode::fast);
  ScopedMode sm(mode);
  CAPTURE(mode_name(mode));
  const int64_t n = 9, m = 14, d = 6;
  // Low dimension: many pairs land on both sides of the margin.
  auto f = dmltest::random_unit_rows(n, d, 3), v = dmltest::random_unit_rows(m, d, 4);
  auto y = dmltest::random_labels(n, 3, 5), ym = dmltest::random_labels(m, 3, 6);
  Tensor F = Tensor::from_vector({n, d}, f), V = Tensor::from_vector({m, d}, v);
  F.set_requires_grad();
  V.set_requires_grad();
  Tensor loss = contrastive_loss(F, label_tensor(y, DeviceType::cpu), V, label_tensor(ym, DeviceType::cpu),
                                 Tensor(), Tensor(), static_cast<float>(n));
  loss.backward();
  // d loss / d f_i = Σ_j dsim_ij v_j ; d loss / d v_j = Σ_i dsim_ij f_i, in double from the pair loop.
  std::vector<float> sim(n * m);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double s = 0;
      for (int64_t k = 0; k < d; ++k) s += double(f[i * d + k]) * v[j * d + k];
      sim[i * m + j] = static_cast<float>(s);
    }
  const PairRef ref = explicit_pairs(sim, y, ym, {}, {}, n);
  const auto gF = F.grad().to_vector(), gV = V.grad().to_vector();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) {
      double want = 0;
      for (int64_t j = 0; j < m; ++j) want += double(ref.dsim[i * m + j]) * v[j * d + k];
      CAPTURE(i, k);
      CHECK(gF[i * d + k] == Approx(want).margin(1e-6));
    }
  for (int64_t j = 0; j < m; ++j)
    for (int64_t k = 0; k < d; ++k) {
      double want = 0;
      for (int64_t i = 0; i < n; ++i) want += double(ref.dsim[i * m + j]) * f[i * d + k];
      CAPTURE(j, k);
      CHECK(gV[j * d + k] == Approx(want).margin(1e-6));
    }
}

TEST_CASE("contrastive: PyTorch golden values (official loss loop)", "[dml]") {
  const Mode mode = GENERATE(Mode::exact, Mode::fast);
  ScopedMode sm(mode);
  CAPTURE(mode_name(mode));
  const auto meta = load_i32("meta");
  REQUIRE(meta.size() == 5);
  REQUIRE(meta[0] == 0x50524953);  // "PRIS"
  REQUIRE(meta[1] == 1);           // fixture version
  const int64_t n = meta[2], m = meta[3], d = meta[4];
  const auto f = load_f32("emb"), v = load_f32("memory");
  const auto y = load_i32("labels"), ym = load_i32("memory_labels"), keep = load_i32("keep");
  std::vector<uint8_t> keep8(keep.begin(), keep.end());

  SECTION("batch loss on the kept samples") {
    Tensor F = Tensor::from_vector({n, d}, f);
    F.set_requires_grad();
    Tensor loss =
        batch_contrastive_loss(F, label_tensor(y, DeviceType::cpu), mask_tensor(keep8, DeviceType::cpu));
    loss.backward();
    CHECK(loss.item() == Approx(load_f32("batch_loss")[0]).epsilon(1e-6));
    const auto g = F.grad().to_vector(), want = load_f32("batch_grad");
    for (size_t i = 0; i < g.size(); ++i) {
      CAPTURE(i);
      CHECK(g[i] == Approx(want[i]).margin(1e-6));
    }
  }
  SECTION("memory loss with removed rows masked") {
    Tensor F = Tensor::from_vector({n, d}, f);
    F.set_requires_grad();
    Tensor loss =
        memory_contrastive_loss(F, label_tensor(y, DeviceType::cpu), mask_tensor(keep8, DeviceType::cpu),
                                Tensor::from_vector({m, d}, v), label_tensor(ym, DeviceType::cpu));
    loss.backward();
    CHECK(loss.item() == Approx(load_f32("memory_loss")[0]).epsilon(1e-6));
    const auto g = F.grad().to_vector(), want = load_f32("memory_grad");
    for (size_t i = 0; i < g.size(); ++i) {
      CAPTURE(i);
      CHECK(g[i] == Approx(want[i]).margin(1e-6));
    }
  }
}

TEST_CASE("contrastive: masking rows and columns equals gathering the kept samples (exact, n <= 256)",
          "[dml]") {
  ScopedMode sm(Mode::exact);
  const int64_t n = 40, d = 8;
  auto f = dmltest::random_unit_rows(n, d, 21);
  auto y = dmltest::random_labels(n, 5, 22);
  std::vector<uint8_t> keep(n);
  Rng rng(23, RngStream::test);
  for (auto& k : keep) k = rng.uniform() < 0.6f;
  std::vector<float> fk;
  std::vector<int32_t> yk;
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < n; ++i)
    if (keep[i]) {
      fk.insert(fk.end(), f.begin() + i * d, f.begin() + (i + 1) * d);
      yk.push_back(y[i]);
      idx.push_back(i);
    }
  const int64_t nk = static_cast<int64_t>(yk.size());
  Tensor F = Tensor::from_vector({n, d}, f), Fk = Tensor::from_vector({nk, d}, fk);
  F.set_requires_grad();
  Fk.set_requires_grad();
  Tensor masked =
      batch_contrastive_loss(F, label_tensor(y, DeviceType::cpu), mask_tensor(keep, DeviceType::cpu));
  Tensor gathered = batch_contrastive_loss(Fk, label_tensor(yk, DeviceType::cpu), Tensor());
  REQUIRE(masked.item() == gathered.item());
  masked.backward();
  gathered.backward();
  const auto g = F.grad().to_vector(), gk = Fk.grad().to_vector();
  for (int64_t t = 0; t < nk; ++t)
    for (int64_t k = 0; k < d; ++k) {
      CAPTURE(t, k);
      REQUIRE(g[idx[t] * d + k] == gk[t * d + k]);  // equal values (the sign of a zero may differ)
    }
  for (int64_t i = 0; i < n; ++i)
    if (!keep[i])
      for (int64_t k = 0; k < d; ++k) REQUIRE(g[i * d + k] == 0.0f);
}

TEST_CASE("contrastive: exact mode is bit-identical with 1 and 2 threads", "[dml]") {
  ScopedMode sm(Mode::exact);
  const int64_t n = 300, m = 700, d = 32;
  auto f = dmltest::random_unit_rows(n, d, 31), v = dmltest::random_unit_rows(m, d, 32);
  auto y = dmltest::random_labels(n, 6, 33), ym = dmltest::random_labels(m, 6, 34);
  std::vector<uint8_t> keep(n, 1);
  for (int64_t i = 0; i < n; i += 3) keep[i] = 0;
  auto run = [&](int threads) {
    ScopedThreads st(threads);
    Tensor F = Tensor::from_vector({n, d}, f);
    F.set_requires_grad();
    Tensor lb =
        batch_contrastive_loss(F, label_tensor(y, DeviceType::cpu), mask_tensor(keep, DeviceType::cpu));
    Tensor lm =
        memory_contrastive_loss(F, label_tensor(y, DeviceType::cpu), mask_tensor(keep, DeviceType::cpu),
                                Tensor::from_vector({m, d}, v), label_tensor(ym, DeviceType::cpu));
    Tensor total = add(lb, lm);
    total.backward();
    std::vector<float> out = F.grad().to_vector();
    out.push_back(lb.item());
    out.push_back(lm.item());
    return out;
  };
  REQUIRE_BITWISE_EQUAL("losses and gradient, 1 vs 2 threads", run(1), run(2));
}

TEST_CASE("contrastive: nothing kept, empty memory and bad inputs", "[dml]") {
  const int64_t n = 4, d = 3;
  Tensor F = Tensor::from_vector({n, d}, dmltest::random_unit_rows(n, d, 41));
  F.set_requires_grad();
  Tensor y = label_tensor({0, 0, 1, 1}, DeviceType::cpu);
  Tensor none = mask_tensor({0, 0, 0, 0}, DeviceType::cpu);
  Tensor lb = batch_contrastive_loss(F, y, none);
  CHECK(lb.item() == 0.0f);
  CHECK_FALSE(lb.requires_grad());
  Tensor lm =
      memory_contrastive_loss(F, y, Tensor(), Tensor::empty({0, d}), label_tensor({}, DeviceType::cpu));
  CHECK(lm.item() == 0.0f);
  CHECK_THROWS_WITH(batch_contrastive_loss(F, label_tensor({0, 1}, DeviceType::cpu), Tensor()),
                    Catch::Contains("row_labels") && Catch::Contains("[4]"));
  CHECK_THROWS_WITH(memory_contrastive_loss(F, y, Tensor(), Tensor::zeros({5, d + 1}),
                                            label_tensor({0, 0, 0, 0, 0}, DeviceType::cpu)),
                    Catch::Contains("different widths"));
}
