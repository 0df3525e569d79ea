// Gradient checks (reference): (1) every differentiable op's backward, built from the kern:: bodies run in
// double (tests/reference_ops.hpp), against central differences in double; (2) the contrastive kernels'
// piecewise-linear gradient against exact finite differences in float; (3) the subgradients documented at the
// kinks (ReLU at 0, max-pool ties, L2-normalise below eps, the contrastive margins). The autograd wiring of
// the Tensor ops is checked against these references in tests/test_autograd.cpp.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "prism/core/random.hpp"
#include "prism/kernels/dml.hpp"
#include "reference_ops.hpp"

using prism::BinaryOp;
using prism::Conv2dShape;
using prism::Pool2dShape;
using prism::UnaryOp;
namespace ref = prism::ref;

namespace {

using VecD = ref::Vec<double>;
using Inputs = std::vector<VecD>;
using Forward = std::function<VecD(const Inputs&)>;
// d(Σ w·f(x))/d x_k for every input k; an empty vector means "input not differentiated".
using Backward = std::function<Inputs(const Inputs&, const VecD& w)>;

VecD uniform(int64_t n, double lo, double hi, uint64_t seed) {
  prism::Rng rng(seed, prism::RngStream::test);
  VecD v(n);
  for (auto& x : v) x = lo + (hi - lo) * double(rng.uniform());
  return v;
}

// Values with |x| in [lo, hi] and random sign: keeps ReLU inputs away from the kink at 0.
VecD away_from_zero(int64_t n, double lo, double hi, uint64_t seed) {
  prism::Rng rng(seed, prism::RngStream::test);
  VecD v(n);
  for (auto& x : v) x = (rng.bernoulli(0.5f) ? -1 : 1) * (lo + (hi - lo) * double(rng.uniform()));
  return v;
}

// Distinct values at least `gap` apart (a shuffled ladder plus small jitter): no max-pool ties within ±h.
VecD distinct(int64_t n, double gap, uint64_t seed) {
  prism::Rng rng(seed, prism::RngStream::test);
  std::vector<int64_t> perm(n);
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(static_cast<uint32_t>(i + 1))]);
  VecD v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = (double(perm[i]) - double(n) / 2) * gap + 0.25 * gap * double(rng.uniform());
  return v;
}

constexpr double kStep = 1e-6;  // central-difference step; every kink is kept ≥ 1e-3 away
constexpr double kRtol = 1e-6;  // relative agreement of analytic and numeric gradients in double
// Absolute slack per unit of Σ|w·y|: the numeric quotient carries a rounding error ≈ 2^-53·Σ|w·y| / h
// ≈ 1.1e-10·Σ.
constexpr double kAtolPerLoss = 1e-9;

// Checks the analytic gradient of L(x) = Σ_i w_i · f(x)_i against (L(x + h e_j) − L(x − h e_j)) / 2h for
// every element j of every differentiated input, with w a fixed random vector (so every output component is
// exercised).
void gradcheck(const std::string& name, Inputs x, const Forward& f, const Backward& backward,
               uint64_t seed = 7) {
  const VecD y = f(x);
  REQUIRE(!y.empty());
  const VecD w = uniform(static_cast<int64_t>(y.size()), -1.0, 1.0, seed);
  auto loss = [&](const Inputs& in) {
    const VecD o = f(in);
    double s = 0;
    for (size_t i = 0; i < o.size(); ++i) s += w[i] * o[i];
    return s;
  };
  double scale = 1;
  for (size_t i = 0; i < y.size(); ++i) scale += std::abs(w[i] * y[i]);
  const Inputs analytic = backward(x, w);
  REQUIRE(analytic.size() == x.size());
  for (size_t k = 0; k < x.size(); ++k) {
    if (analytic[k].empty()) continue;
    INFO(name << ": input " << k);
    REQUIRE(analytic[k].size() == x[k].size());
    double worst = 0, worst_a = 0, worst_n = 0, largest = 0;
    size_t worst_j = 0;
    for (size_t j = 0; j < x[k].size(); ++j) {
      const double xj = x[k][j];
      x[k][j] = xj + kStep;
      const double lp = loss(x);
      x[k][j] = xj - kStep;
      const double lm = loss(x);
      x[k][j] = xj;
      const double numeric = (lp - lm) / (2 * kStep), a = analytic[k][j];
      const double allowed = kRtol * std::max(std::abs(a), std::abs(numeric)) + kAtolPerLoss * scale;
      const double ratio = std::abs(a - numeric) / allowed;
      largest = std::max(largest, std::abs(a));
      if (ratio > worst) worst = ratio, worst_j = j, worst_a = a, worst_n = numeric;
    }
    INFO("worst element " << worst_j << ": analytic " << worst_a << ", numeric " << worst_n
                          << " (error / allowed = " << worst << ")");
    CHECK(worst <= 1.0);
    CHECK(largest > 0);  // a gradient that is identically zero would pass any comparison
  }
}

std::string conv_name(const Conv2dShape& s, int64_t co, bool bias) {
  std::ostringstream os;
  os << "conv2d x[" << s.n << "," << s.c << "," << s.h << "," << s.w << "] w[" << co << "," << s.c << ","
     << s.kh << "," << s.kw << "] stride " << s.stride << " pad " << s.pad << (bias ? " +bias" : "");
  return os.str();
}
std::string pool_name(const char* op, const Pool2dShape& s) {
  std::ostringstream os;
  os << op << " x[" << s.n << "," << s.c << "," << s.h << "," << s.w << "] k " << s.k << " stride "
     << s.stride << " pad " << s.pad << (s.ceil ? " ceil" : "");
  return os.str();
}

}  // namespace

// ---- linear algebra ---------------------------------------------------------------------------------------

TEST_CASE("gradcheck: matmul, every transpose combination", "[gradcheck]") {
  for (int t = 0; t < 4; ++t) {
    const ref::MatmulShape s{3, 4, 5, bool(t & 1), bool(t & 2)};
    gradcheck(
        "matmul trans_a=" + std::to_string(s.ta) + " trans_b=" + std::to_string(s.tb),
        {uniform(s.M * s.K, -1, 1, 1 + t), uniform(s.K * s.N, -1, 1, 11 + t)},
        [s](const Inputs& in) { return ref::matmul(in[0], in[1], s); },
        [s](const Inputs& in, const VecD& g) {
          Inputs d(2);
          ref::matmul_backward(d[0], d[1], g, in[0], in[1], s);
          return d;
        });
  }
}

TEST_CASE("gradcheck: linear (x·wᵀ + b)", "[gradcheck]") {
  const int64_t N = 4, in_f = 5, out_f = 3;
  const ref::MatmulShape s{N, out_f, in_f, false, true};
  const ref::Bcast bc{N, out_f, 1};
  gradcheck(
      "linear", {uniform(N * in_f, -1, 1, 21), uniform(out_f * in_f, -1, 1, 22), uniform(out_f, -1, 1, 23)},
      [&](const Inputs& in) { return ref::binary(BinaryOp::add, ref::matmul(in[0], in[1], s), in[2], bc); },
      [&](const Inputs& in, const VecD& g) {
        Inputs d(3);
        ref::matmul_backward(d[0], d[1], g, in[0], in[1], s);
        d[2] = ref::reduce_mid(g, N, out_f, 1);
        return d;
      });
}

TEST_CASE("gradcheck: gram (x·xᵀ)", "[gradcheck]") {
  const int64_t N = 5, D = 3;
  gradcheck(
      "gram", {uniform(N * D, -1, 1, 31)}, [&](const Inputs& in) { return ref::gram(in[0], N, D); },
      [&](const Inputs& in, const VecD& g) { return Inputs{ref::gram_backward(g, in[0], N, D)}; });
}

TEST_CASE("gradcheck: transpose", "[gradcheck]") {
  const int64_t R = 3, C = 5;
  gradcheck(
      "transpose", {uniform(R * C, -1, 1, 41)},
      [&](const Inputs& in) { return ref::transpose(in[0], 1, R, C); },
      [&](const Inputs&, const VecD& g) { return Inputs{ref::transpose(g, 1, C, R)}; });
}

// ---- elementwise ------------------------------------------------------------------------------------------

TEST_CASE("gradcheck: add / sub / mul, same shape and broadcast along axis 1", "[gradcheck]") {
  struct Layout {
    const char* name;
    int64_t outer, mid, inner;
    bool same;
  };
  const Layout layouts[] = {{"same shape [3, 4]", 3, 4, 1, true},
                            {"bias rows [5, 3] + [3]", 5, 3, 1, false},
                            {"channels [2, 3, 2, 2] + [3]", 2, 3, 4, false}};
  for (const Layout& l : layouts)
    for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul}) {
      const ref::Bcast bc{l.outer, l.mid, l.inner};
      const int64_t na = l.outer * l.mid * l.inner, nb = l.same ? na : l.mid;
      const char* opname = op == BinaryOp::add ? "add" : op == BinaryOp::sub ? "sub" : "mul";
      gradcheck(
          std::string(opname) + " " + l.name, {uniform(na, -1, 1, 51), uniform(nb, -1, 1, 52)},
          [=](const Inputs& in) { return ref::binary(op, in[0], in[1], bc); },
          [=](const Inputs& in, const VecD& g) {
            Inputs d(2);
            ref::binary_backward(op, d[0], d[1], g, in[0], in[1], bc);
            return d;
          });
    }
}

TEST_CASE("gradcheck: scale and add_scalar", "[gradcheck]") {
  const double s = -1.75;
  const ref::Bcast bc{1, 1, 1};
  gradcheck(
      "scale", {uniform(7, -1, 1, 61)},
      [&](const Inputs& in) { return ref::binary(BinaryOp::mul, in[0], VecD(7, s), bc); },
      [&](const Inputs&, const VecD& g) { return Inputs{ref::binary(BinaryOp::mul, g, VecD(7, s), bc)}; });
  gradcheck(
      "add_scalar", {uniform(7, -1, 1, 62)},
      [&](const Inputs& in) { return ref::binary(BinaryOp::add, in[0], VecD(7, s), bc); },
      [&](const Inputs&, const VecD& g) { return Inputs{g}; });
}

TEST_CASE("gradcheck: relu, exp, log, square, neg, sqrt", "[gradcheck]") {
  struct Case {
    const char* name;
    UnaryOp op;
    VecD x;
  };
  const Case cases[] = {
      {"relu (|x| >= 1e-3)", UnaryOp::relu, away_from_zero(20, 1e-3, 1, 71)},
      {"exp", UnaryOp::exp, uniform(20, -3, 2, 72)},
      {"log", UnaryOp::log, uniform(20, 0.2, 3, 73)},
      {"square", UnaryOp::square, uniform(20, -2, 2, 74)},
      {"neg", UnaryOp::neg, uniform(20, -2, 2, 75)},
      {"sqrt", UnaryOp::sqrt, uniform(20, 0.2, 3, 76)},
  };
  for (const Case& c : cases) {
    const UnaryOp op = c.op;
    gradcheck(
        c.name, {c.x}, [op](const Inputs& in) { return ref::unary(op, in[0]); },
        [op](const Inputs& in, const VecD& g) {
          return Inputs{ref::unary_backward(op, g, in[0], ref::unary(op, in[0]))};
        });
  }
}

// ---- reductions -------------------------------------------------------------------------------------------

TEST_CASE("gradcheck: sum, mean, sum_rows", "[gradcheck]") {
  const int64_t R = 4, C = 300;  // C > one reduction chunk
  gradcheck(
      "sum", {uniform(R * C, -1, 1, 81)}, [](const Inputs& in) { return VecD{ref::sum(in[0])}; },
      [&](const Inputs&, const VecD& g) { return Inputs{VecD(R * C, g[0])}; });
  gradcheck(
      "mean", {uniform(R * C, -1, 1, 82)},
      [&](const Inputs& in) { return VecD{ref::sum(in[0]) / double(R * C)}; },
      [&](const Inputs&, const VecD& g) { return Inputs{VecD(R * C, g[0] / double(R * C))}; });
  gradcheck(
      "sum_rows", {uniform(R * C, -1, 1, 83)}, [&](const Inputs& in) { return ref::sum_rows(in[0], R, C); },
      [&](const Inputs&, const VecD& g) {
        VecD d(R * C);
        for (int64_t i = 0; i < R * C; ++i) d[i] = g[i / C];
        return Inputs{d};
      });
}

// ---- conv2d -----------------------------------------------------------------------------------------------

TEST_CASE("gradcheck: conv2d (input, weight, bias) over stride / padding / kernel variants", "[gradcheck]") {
  struct Case {
    Conv2dShape s;
    int64_t co;
    bool bias;
  };
  const Case cases[] = {
      {{2, 3, 5, 5, 3, 3, 1, 0}, 4, true},   // valid
      {{2, 3, 5, 5, 3, 3, 1, 1}, 4, true},   // same padding (fmnist-cnn)
      {{1, 2, 7, 7, 3, 3, 2, 1}, 3, true},   // strided, padded
      {{2, 2, 6, 7, 2, 3, 2, 0}, 3, false},  // non-square kernel, stride leaves the last row / column unread
      {{2, 4, 3, 3, 1, 1, 1, 0}, 2, true},   // 1×1
      {{1, 1, 4, 4, 3, 3, 1, 2},
       2,
       true},  // padding larger than kernel/2: border outputs see only padding taps
  };
  uint64_t seed = 90;
  for (const Case& c : cases) {
    const Conv2dShape s = c.s;
    const int64_t co = c.co;
    Inputs x{uniform(s.n * s.c * s.h * s.w, -1, 1, seed), uniform(co * s.c * s.kh * s.kw, -1, 1, seed + 1)};
    if (c.bias) x.push_back(uniform(co, -1, 1, seed + 2));
    seed += 3;
    gradcheck(
        conv_name(s, co, c.bias), x,
        [=](const Inputs& in) { return ref::conv2d(in[0], in[1], in.size() > 2 ? in[2] : VecD{}, s, co); },
        [=](const Inputs& in, const VecD& g) {
          Inputs d(in.size());
          VecD db;
          ref::conv2d_backward(d[0], d[1], db, g, in[0], in[1], s, co);
          if (in.size() > 2) d[2] = db;
          return d;
        });
  }
}

TEST_CASE("conv2d: im2col + GEMM equals the direct convolution bit for bit (float and double)",
          "[gradcheck]") {
  const Conv2dShape shapes[] = {{2, 3, 5, 5, 3, 3, 1, 1}, {1, 2, 7, 7, 3, 3, 2, 1}, {2, 2, 6, 7, 2, 3, 2, 0}};
  for (const Conv2dShape& s : shapes) {
    const int64_t co = 3;
    const VecD x = uniform(s.n * s.c * s.h * s.w, -1, 1, 5), w = uniform(co * s.c * s.kh * s.kw, -1, 1, 6),
               b = uniform(co, -1, 1, 7);
    INFO(conv_name(s, co, true));
    CHECK(ref::conv2d(x, w, b, s, co) == ref::conv2d_direct(x, w, b, s, co));
    const auto xf = ref::cast<float>(x), wf = ref::cast<float>(w), bf = ref::cast<float>(b);
    const auto a = ref::conv2d(xf, wf, bf, s, co), d = ref::conv2d_direct(xf, wf, bf, s, co);
    REQUIRE(a.size() == d.size());
    CHECK(std::memcmp(a.data(), d.data(), a.size() * sizeof(float)) == 0);
  }
}

// ---- pooling ----------------------------------------------------------------------------------------------

TEST_CASE("gradcheck: max_pool2d and avg_pool2d (distinct inputs: no ties)", "[gradcheck]") {
  const Pool2dShape shapes[] = {
      {2, 2, 6, 6, 2, 2, 0},        // fmnist-cnn's pool
      {1, 2, 7, 7, 3, 2, 1},        // overlapping, padded, odd size
      {1, 1, 5, 5, 3, 1, 1},        // stride 1: every input in up to 9 windows
      {2, 1, 5, 4, 2, 2, 0},        // odd H: the last row is never read
      {1, 2, 8, 8, 3, 2, 0, true},  // ceil_mode: the last windows hang over the edge (avg divisor 6, 4)
      {1, 1, 6, 6, 3, 2, 1, true},  // ceil_mode with padding
      {2, 1, 5, 5, 2, 2, 1, true},  // ceil_mode: a window that would start in the right padding is dropped
  };
  for (const Pool2dShape& s : shapes) {
    const int64_t n_in = s.n * s.c * s.h * s.w;
    gradcheck(
        pool_name("max_pool2d", s), {distinct(n_in, 0.01, 100 + s.k)},
        [=](const Inputs& in) {
          std::vector<int32_t> arg;
          return ref::maxpool2d(in[0], s, &arg);
        },
        [=](const Inputs& in, const VecD& g) {
          std::vector<int32_t> arg;
          ref::maxpool2d(in[0], s, &arg);
          return Inputs{ref::maxpool2d_backward(g, arg, s)};
        });
    gradcheck(
        pool_name("avg_pool2d", s), {uniform(n_in, -1, 1, 110 + s.k)},
        [=](const Inputs& in) { return ref::avgpool2d(in[0], s); },
        [=](const Inputs&, const VecD& g) { return Inputs{ref::avgpool2d_backward(g, s)}; });
  }
}

TEST_CASE("gradcheck: global_avg_pool", "[gradcheck]") {
  const int64_t NC = 2 * 3, HW = 4 * 5;
  gradcheck(
      "global_avg_pool [2, 3, 4, 5]", {uniform(NC * HW, -1, 1, 120)},
      [=](const Inputs& in) { return ref::global_avg_pool(in[0], NC, HW); },
      [=](const Inputs&, const VecD& g) { return Inputs{ref::global_avg_pool_backward(g, NC, HW)}; });
}

// ---- normalisation ----------------------------------------------------------------------------------------

TEST_CASE("gradcheck: batch_norm in training mode (x, gamma, beta)", "[gradcheck]") {
  const ref::BnShape shapes[] = {{6, 3, 1}, {2, 3, 6}, {3, 2, 4}};
  const double eps = 1e-5;
  for (const ref::BnShape& s : shapes) {
    gradcheck(
        "batch_norm [N=" + std::to_string(s.n) + ", C=" + std::to_string(s.c) +
            ", HW=" + std::to_string(s.hw) + "]",
        {uniform(s.n * s.c * s.hw, -1, 2, 130), uniform(s.c, 0.5, 1.5, 131), uniform(s.c, -1, 1, 132)},
        [=](const Inputs& in) { return ref::batch_norm(in[0], in[1], in[2], eps, s); },
        [=](const Inputs& in, const VecD& g) {
          Inputs d(3);
          ref::batch_norm_backward(d[0], d[1], d[2], g, in[0], in[1], eps, s);
          return d;
        });
  }
}

TEST_CASE("gradcheck: l2_normalize", "[gradcheck]") {
  const int64_t R = 4, D = 5;
  gradcheck(
      "l2_normalize [4, 5]", {uniform(R * D, -1, 1, 140)},
      [=](const Inputs& in) { return ref::l2_normalize(in[0], R, D, 1e-12); },
      [=](const Inputs& in, const VecD& g) {
        return Inputs{ref::l2_normalize_backward(g, in[0], R, D, 1e-12)};
      });
}

// ---- kinks: the documented subgradients -------------------------------------------------------------------

TEST_CASE("kink: ReLU'(0) = 0, in float and double", "[gradcheck]") {
  using prism::kern::unary_backward_one;
  CHECK(unary_backward_one<double>(UnaryOp::relu, 1.0, 0.0, 0.0) == 0.0);
  CHECK(unary_backward_one<float>(UnaryOp::relu, 1.0f, 0.0f, 0.0f) == 0.0f);
  CHECK(unary_backward_one<float>(UnaryOp::relu, 1.0f, -0.0f, 0.0f) == 0.0f);
  CHECK(unary_backward_one<float>(UnaryOp::relu, 2.5f, 1e-30f, 1e-30f) == 2.5f);
  CHECK(unary_backward_one<float>(UnaryOp::relu, 2.5f, -1e-30f, 0.0f) == 0.0f);
}

TEST_CASE("kink: max-pool ties send the gradient to the first maximum in window order", "[gradcheck]") {
  // One 1×1×3×3 plane, a 3×3 window with stride 1 and pad 0 → one output. Every value ties.
  const Pool2dShape s{1, 1, 3, 3, 3, 1, 0};
  VecD x(9, 0.5);
  std::vector<int32_t> arg;
  const VecD y = ref::maxpool2d(x, s, &arg);
  CHECK(y[0] == 0.5);
  CHECK(arg[0] == 0);
  VecD dx = ref::maxpool2d_backward(VecD{3.0}, arg, s);
  CHECK(dx == VecD{3.0, 0, 0, 0, 0, 0, 0, 0, 0});
  // A tie between (1, 2) and (2, 0): (1, 2) comes first in (ky, kx) order.
  x = {0, 0, 0, 0, 0, 2, 2, 0, 0};
  ref::maxpool2d(x, s, &arg);
  CHECK(arg[0] == 5);
  // Overlapping windows (k 2, stride 1) over a constant plane: each window's first tap wins and receives
  // exactly that window's gradient; the other inputs of the window get none.
  const Pool2dShape o{1, 1, 3, 3, 2, 1, 0};
  ref::maxpool2d(VecD(9, 1.0), o, &arg);
  CHECK(arg == std::vector<int32_t>{0, 1, 3, 4});
  dx = ref::maxpool2d_backward(VecD{1, 2, 3, 4}, arg, o);
  CHECK(dx == VecD{1, 2, 0, 3, 4, 0, 0, 0, 0});
  // Padding never wins, even against negative values.
  const Pool2dShape p{1, 1, 2, 2, 3, 1, 1};
  ref::maxpool2d(VecD{-5, -6, -7, -8}, p, &arg);
  for (int32_t a : arg) CHECK(a >= 0);
}

TEST_CASE("kink: L2-normalise below eps treats the norm as the constant eps", "[gradcheck]") {
  // Row 0 has norm 3e-14 < eps = 1e-12: y = x / eps is linear in x, dx = dy / eps; row 1 is a normal row.
  const int64_t R = 2, D = 3;
  const double eps = 1e-12;
  const VecD x{1e-14, -2e-14, 2e-14, 0.3, -0.4, 0.5};
  VecD norm;
  const VecD y = ref::l2_normalize(x, R, D, eps, &norm);
  CHECK(norm[0] == eps);
  CHECK(y[0] == Approx(0.01).epsilon(1e-12));
  const VecD g{1, 2, 3, 0.1, 0.2, 0.3};
  const VecD dx = ref::l2_normalize_backward(g, x, R, D, eps);
  for (int j = 0; j < 3; ++j) CHECK(dx[j] == Approx(g[j] / eps).epsilon(1e-12));
  // Numerically, on the clamped row, with a step that keeps the row below eps.
  for (int j = 0; j < 3; ++j) {
    VecD xp = x, xm = x;
    xp[j] += 1e-16;
    xm[j] -= 1e-16;
    const VecD yp = ref::l2_normalize(xp, R, D, eps), ym = ref::l2_normalize(xm, R, D, eps);
    double num = 0;
    for (int i = 0; i < 3; ++i) num += g[i] * (yp[i] - ym[i]) / 2e-16;
    CHECK(num == Approx(dx[j]).epsilon(1e-6));
  }
  // And an all-zero row gives a zero output and a finite gradient.
  const VecD z = ref::l2_normalize(VecD{0, 0, 0}, 1, 3, eps);
  CHECK(z == VecD{0, 0, 0});
}

// ---- contrastive loss kernels (float; piecewise linear) ---------------------------------------------------

namespace {

// Similarities on a grid of 2^-10 and a step of 2^-6: every s ± h, 1 − s and every row sum below are exact in
// float, so the central difference of the float kernel is exact and must equal the kernel's gradient bit for
// bit.
constexpr float kGrid = 1.0f / 1024, kH = 1.0f / 64;

float contrastive_total(const std::vector<float>& sim, const std::vector<int32_t>& yr,
                        const std::vector<int32_t>& yc, const int32_t* row_mask, const int32_t* col_mask,
                        int64_t rows, int64_t cols, float margin, float pos_eps) {
  float total = 0;
  for (int64_t i = 0; i < rows; ++i)
    total += prism::kern::contrastive_row(sim.data(), yr.data(), yc.data(), row_mask, col_mask, cols, margin,
                                          pos_eps, i);
  return total;
}

}  // namespace

TEST_CASE("gradcheck: contrastive loss gradient equals its exact finite differences", "[gradcheck]") {
  const int64_t rows = 5, cols = 7;
  const float margin = 0.5f, pos_eps = 1e-5f, scale = 1.0f;
  prism::Rng rng(17, prism::RngStream::test);
  std::vector<float> sim(rows * cols);
  std::vector<int32_t> yr(rows), yc(cols), row_mask(rows), col_mask(cols);
  for (auto& y : yr) y = static_cast<int32_t>(rng.below(3));
  for (auto& y : yc) y = static_cast<int32_t>(rng.below(3));
  for (auto& m : row_mask) m = rng.bernoulli(0.8f);
  for (auto& m : col_mask) m = rng.bernoulli(0.8f);
  row_mask[0] = col_mask[0] = 1;
  // Grid values in [−1, 0.98], kept ≥ 2h away from the kinks at the margin (0.5) and at 1 − pos_eps.
  for (auto& s : sim) {
    float v;
    do v = kGrid * static_cast<float>(static_cast<int>(rng.below(2004)) - 1024);
    while (std::abs(v - margin) < 2 * kH || v > 1 - 2 * kH);
    s = v;
  }
  for (int with_masks = 0; with_masks < 2; ++with_masks) {
    const int32_t* rm = with_masks ? row_mask.data() : nullptr;
    const int32_t* cm = with_masks ? col_mask.data() : nullptr;
    std::vector<float> grad(rows * cols);
    for (int64_t idx = 0; idx < rows * cols; ++idx)
      grad[idx] = prism::kern::contrastive_grad_one(sim.data(), yr.data(), yc.data(), rm, cm, cols, margin,
                                                    pos_eps, scale, idx);
    int active = 0;
    for (int64_t idx = 0; idx < rows * cols; ++idx) {
      std::vector<float> sp = sim, sm = sim;
      sp[idx] += kH;
      sm[idx] -= kH;
      const float numeric = (contrastive_total(sp, yr, yc, rm, cm, rows, cols, margin, pos_eps) -
                             contrastive_total(sm, yr, yc, rm, cm, rows, cols, margin, pos_eps)) /
                            (2 * kH);
      INFO("masks " << with_masks << ", pair (" << idx / cols << ", " << idx % cols << "), s = " << sim[idx]
                    << ", labels " << yr[idx / cols] << "/" << yc[idx % cols] << ": kernel " << grad[idx]
                    << ", finite difference " << numeric);
      CHECK(grad[idx] == numeric);
      active += grad[idx] != 0;
    }
    CHECK(active > 0);
  }
  // The gradient is scaled by `scale` (dloss / rows divisor).
  const float g1 = prism::kern::contrastive_grad_one(sim.data(), yr.data(), yc.data(), nullptr, nullptr, cols,
                                                     margin, pos_eps, 1, 0);
  const float g3 = prism::kern::contrastive_grad_one(sim.data(), yr.data(), yc.data(), nullptr, nullptr, cols,
                                                     margin, pos_eps, 0.25f, 0);
  CHECK(g3 == 0.25f * g1);
}

TEST_CASE("kink: contrastive pairs exactly at the margin or at 1 − pos_eps are inactive", "[gradcheck]") {
  using prism::kern::contrastive_pair_kind;
  const float margin = 0.5f, pos_eps = 1e-5f;
  CHECK(contrastive_pair_kind(margin, 0, 1, margin, pos_eps) == 0);  // negative at margin
  CHECK(contrastive_pair_kind(std::nextafter(margin, 1.0f), 0, 1, margin, pos_eps) == 1);  // just above
  CHECK(contrastive_pair_kind(1.0f - pos_eps, 2, 2, margin, pos_eps) == 0);  // positive at 1 − eps
  CHECK(contrastive_pair_kind(std::nextafter(1.0f - pos_eps, 0.0f), 2, 2, margin, pos_eps) == -1);
  CHECK(contrastive_pair_kind(1.0f, 2, 2, margin, pos_eps) == 0);  // a sample with itself gives no loss
  // The forward agrees: at the kinks the row contributes nothing.
  const float sim[2] = {margin, 1.0f - pos_eps};
  const int32_t yr[1] = {0}, yc[2] = {1, 0};
  CHECK(prism::kern::contrastive_row(sim, yr, yc, nullptr, nullptr, 2, margin, pos_eps, 0) == 0.0f);
}
