// Autograd wiring of the float Tensor ops (src/core/ops_*.cpp), reference tests: each op runs forward and
// backward through prism::Tensor and the tape, and every input's gradient is compared with the reference loop
// drivers (tests/reference_ops.hpp, themselves checked by central differences in test_gradcheck.cpp):
//   exact mode — bit-identical to the drivers run in float (same kernels, same orders);
//   both modes — within a float tolerance of the drivers run in double.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "reference_ops.hpp"

using prism::BinaryOp;
using prism::Conv2dShape;
using prism::Mode;
using prism::Pool2dShape;
using prism::Shape;
using prism::Tensor;
using prism::UnaryOp;
namespace ref = prism::ref;

namespace {

using VecF = ref::Vec<float>;
using VecD = ref::Vec<double>;

VecF frand(int64_t n, float lo, float hi, uint64_t seed) {
  prism::Rng rng(seed, prism::RngStream::test);
  VecF v(n);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

VecD D(const VecF& v) {
  return ref::cast<double>(v);
}

Tensor leaf(const Shape& shape, const VecF& v) {
  Tensor t = Tensor::from_vector(shape, v);
  t.set_requires_grad();
  return t;
}

// Float tape vs the reference: normalised max error max|got − ref| / max|ref| in both modes; the float
// relative error of these small sums (≤ a few hundred terms) is ≲ 1e-6, so 1e-5 leaves a 10× margin without
// hiding a wrong term (which moves the result by O(1)).
constexpr double kTol = 1e-5;

void check_against(const std::string& what, const VecF& got, const VecF& want_f, const VecD& want_d,
                   double tol = kTol) {
  INFO(what << " (mode " << prism::mode_name(prism::mode()) << ")");
  REQUIRE(got.size() == want_d.size());
  if (prism::mode() == Mode::exact) {
    REQUIRE(want_f.size() == got.size());
    for (size_t i = 0; i < got.size(); ++i)
      if (std::memcmp(&got[i], &want_f[i], sizeof(float)) != 0) {
        INFO("exact mode: first element differing from the float reference: ["
             << i << "] = " << got[i] << ", reference " << want_f[i]);
        FAIL();
      }
  }
  double err = 0, scale = 0;
  size_t non_finite = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    non_finite += !std::isfinite(got[i]);
    err = std::max(err, std::abs(double(got[i]) - want_d[i]));
    scale = std::max(scale, std::abs(want_d[i]));
  }
  CHECK(non_finite == 0);
  const double rel = scale > 0 ? err / scale : err;
  INFO("normalised max error vs double reference: " << rel << " (tolerance " << tol << ")");
  CHECK(rel <= tol);
}

void check_grad(const std::string& what, const Tensor& t, const VecF& want_f, const VecD& want_d,
                double tol = kTol) {
  INFO(what);
  REQUIRE(t.grad().defined());
  REQUIRE(t.grad().shape() == t.shape());
  check_against(what, t.grad().to_vector(), want_f, want_d, tol);
}

// Backward from `out` with the seed gradient g (the tape's d loss / d out).
VecF seed_backward(const Tensor& out, uint64_t seed) {
  VecF g = frand(out.numel(), -1, 1, seed);
  prism::run_backward(out, Tensor::from_vector(out.shape(), g));
  return g;
}

Mode generate_mode() {
  return GENERATE(Mode::exact, Mode::fast);
}

}  // namespace

TEST_CASE("tape: matmul, every transpose combination", "[gradcheck][tape]") {
  prism::ScopedMode mode(generate_mode());
  for (int t = 0; t < 4; ++t) {
    const ref::MatmulShape s{5, 6, 300, bool(t & 1), bool(t & 2)};  // K beyond one reduction chunk
    const VecF a = frand(s.M * s.K, -1, 1, 1), b = frand(s.K * s.N, -1, 1, 2);
    Tensor A = leaf(s.ta ? Shape{s.K, s.M} : Shape{s.M, s.K}, a),
           B = leaf(s.tb ? Shape{s.N, s.K} : Shape{s.K, s.N}, b);
    Tensor C = prism::matmul(A, B, s.ta, s.tb);
    const VecF g = seed_backward(C, 3);
    const std::string what = "matmul trans_a=" + std::to_string(s.ta) + " trans_b=" + std::to_string(s.tb);
    check_against(what + " forward", C.to_vector(), ref::matmul(a, b, s), ref::matmul(D(a), D(b), s));
    VecF da, db;
    VecD dad, dbd;
    ref::matmul_backward(da, db, g, a, b, s);
    ref::matmul_backward(dad, dbd, D(g), D(a), D(b), s);
    check_grad(what + " d a", A, da, dad);
    check_grad(what + " d b", B, db, dbd);
  }
}

TEST_CASE("tape: linear with and without bias", "[gradcheck][tape]") {
  prism::ScopedMode mode(generate_mode());
  const int64_t N = 7, in_f = 9, out_f = 4;
  const ref::MatmulShape s{N, out_f, in_f, false, true};
  const ref::Bcast bc{N, out_f, 1};
  const VecF x = frand(N * in_f, -1, 1, 10), w = frand(out_f * in_f, -1, 1, 11), b = frand(out_f, -1, 1, 12);
  for (bool with_bias : {true, false}) {
    Tensor X = leaf({N, in_f}, x), W = leaf({out_f, in_f}, w), B = with_bias ? leaf({out_f}, b) : Tensor();
    Tensor Y = prism::linear(X, W, B);
    const VecF g = seed_backward(Y, 13);
    const std::string what = with_bias ? "linear +bias" : "linear";
    VecF yf = ref::matmul(x, w, s);
    VecD yd = ref::matmul(D(x), D(w), s);
    if (with_bias) {
      yf = ref::binary(BinaryOp::add, yf, b, bc);
      yd = ref::binary(BinaryOp::add, yd, D(b), bc);
    }
    check_against(what + " forward", Y.to_vector(), yf, yd);
    VecF dx, dw;
    VecD dxd, dwd;
    ref::matmul_backward(dx, dw, g, x, w, s);
    ref::matmul_backward(dxd, dwd, D(g), D(x), D(w), s);
    check_grad(what + " d x", X, dx, dxd);
    check_grad(what + " d w", W, dw, dwd);
    if (with_bias)
      check_grad(what + " d b", B, ref::reduce_mid(g, N, out_f, 1), ref::reduce_mid(D(g), N, out_f, 1));
  }
}

TEST_CASE("tape: gram and transpose", "[gradcheck][tape]") {
  prism::ScopedMode mode(generate_mode());
  const int64_t N = 6, Dm = 300;
  const VecF x = frand(N * Dm, -1, 1, 20);
  Tensor X = leaf({N, Dm}, x);
  Tensor G = prism::gram(X);
  const VecF g = seed_backward(G, 21);
  check_against("gram forward", G.to_vector(), ref::gram(x, N, Dm), ref::gram(D(x), N, Dm));
  check_grad("gram d x", X, ref::gram_backward(g, x, N, Dm), ref::gram_backward(D(g), D(x), N, Dm));

  Tensor Xt = leaf({N, Dm}, x);
  Tensor T = prism::transpose(Xt);
  REQUIRE(T.shape() == Shape{Dm, N});
  const VecF gt = seed_backward(T, 22);
  check_against("transpose forward", T.to_vector(), ref::transpose(x, 1, N, Dm),
                ref::transpose(D(x), 1, N, Dm));
  check_grad("transpose d x", Xt, ref::transpose(gt, 1, Dm, N), ref::transpose(D(gt), 1, Dm, N));
}

TEST_CASE("tape: add / sub / mul, same shape and broadcast along axis 1", "[gradcheck][tape]") {
  prism::ScopedMode mode(generate_mode());
  struct Layout {
    const char* name;
    Shape a_shape;
    bool same;
  };
  const Layout layouts[] = {{"same shape [5, 7]", {5, 7}, true},
                            {"bias rows [300, 3] + [3]", {300, 3}, false},
                            {"channels [3, 4, 5, 6] + [4]", {3, 4, 5, 6}, false}};
  for (const Layout& l : layouts)
    for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul}) {
      const int64_t na = prism::shape_numel(l.a_shape);
      const int64_t mid = l.a_shape[1], outer = l.a_shape[0], inner = na / (outer * mid);
      const ref::Bcast bc{outer, mid, inner};
      const Shape b_shape = l.same ? l.a_shape : Shape{mid};
      const VecF a = frand(na, -1, 1, 30), b = frand(prism::shape_numel(b_shape), -1, 1, 31);
      Tensor A = leaf(l.a_shape, a), B = leaf(b_shape, b);
      Tensor C = op == BinaryOp::add   ? prism::add(A, B)
                 : op == BinaryOp::sub ? prism::sub(A, B)
                                       : prism::mul(A, B);
      const VecF g = seed_backward(C, 32);
      const std::string what = std::string(op == BinaryOp::add   ? "add "
                                           : op == BinaryOp::sub ? "sub "
                                                                 : "mul ") +
                               l.name;
      check_against(what + " forward", C.to_vector(), ref::binary(op, a, b, bc),
                    ref::binary(op, D(a), D(b), bc));
      VecF ga, gb;
      VecD gad, gbd;
      ref::binary_backward(op, ga, gb, g, a, b, bc);
      ref::binary_backward(op, gad, gbd, D(g), D(a), D(b), bc);
      check_grad(what + " d a", A, ga, gad);
      check_grad(what + " d b", B, gb, gbd);
    }
}

TEST_CASE("tape: scale and add_scalar", "[gradcheck][tape]") {
  prism::ScopedMode mode(generate_mode());
  const VecF x = frand(50, -1, 1, 40);
  const float s = -1.75f;
  const ref::Bcast one{1, 1, 1};
  Tensor X = leaf({5, 10}, x);
  Tensor Y = prism::scale(X, s);
  const VecF g = seed_backward(Y, 41);
  check_against("scale forward", Y.to_vector(), ref::binary(BinaryOp::mul, x, VecF(50, s), one),
                ref::binary(BinaryOp::mul, D(x), VecD(50, s), one));
  check_grad("scale d x", X, ref::binary(BinaryOp::mul, g, VecF(50, s), one),
             ref::binary(BinaryOp::mul, D(g), VecD(50, s), one));
  Tensor X2 = leaf({5, 10}, x);
  Tensor Y2 = prism::add_scalar(X2, s);
  const VecF g2 = seed_backward(Y2, 42);
  check_against("add_scalar forward", Y2.to_vector(), ref::binary(BinaryOp::add, x, VecF(50, s), one),
                ref::binary(BinaryOp::add, D(x), VecD(50, s), one));
  check_grad("add_scalar d x", X2, g2, D(g2));
}

TEST_CASE("tape: relu, exp, log, square", "[gradcheck][tape]") {
  prism::ScopedMode mode(generate_mode());
  struct Case {
    const char* name;
    UnaryOp op;
    float lo, hi;
    Tensor (*fn)(const Tensor&);
  };
  const Case cases[] = {{"relu", UnaryOp::relu, -1, 1, prism::relu},
                        {"exp", UnaryOp::exp, -5, 3, prism::exp},
                        {"log", UnaryOp::log, 0.01f, 10, prism::log},
                        {"square", UnaryOp::square, -2, 2, prism::square}};
  for (const Case& c : cases) {
    VecF x = frand(1000, c.lo, c.hi, 50);
    if (c.op == UnaryOp::relu) x[0] = 0.0f;  // the kink: ReLU'(0) = 0 on the tape too
    Tensor X = leaf({10, 100}, x);
    Tensor Y = c.fn(X);
    const VecF g = seed_backward(Y, 51);
    const VecF yf = ref::unary(c.op, x);
    const VecD yd = ref::unary(c.op, D(x));
    // exp/log in fast mode use libm and exact mode the portable versions: both within 1 ulp of the truth.
    check_against(std::string(c.name) + " forward", Y.to_vector(), yf, yd);
    check_grad(std::string(c.name) + " d x", X, ref::unary_backward(c.op, g, x, yf),
               ref::unary_backward(c.op, D(g), D(x), yd));
    if (c.op == UnaryOp::relu) CHECK(X.grad().to_vector()[0] == 0.0f);
  }
}

TEST_CASE("tape: sum, mean, sum_rows", "[gradcheck][tape]") {
  prism::ScopedMode mode(generate_mode());
  const int64_t R = 40, C = 300;
  const VecF x = frand(R * C, -1, 1, 60);
  {
    Tensor X = leaf({R, C}, x);
    Tensor S = prism::sum(X);
    const VecF g = seed_backward(S, 61);
    check_against("sum forward", S.to_vector(), {ref::sum(x)}, {ref::sum(D(x))});
    check_grad("sum d x", X, VecF(R * C, g[0]), VecD(R * C, g[0]));
  }
  {
    Tensor X = leaf({R, C}, x);
    Tensor M = prism::mean(X);
    const VecF g = seed_backward(M, 62);
    const float n = float(R * C);
    check_against("mean forward", M.to_vector(), {ref::sum(x) / n}, {ref::sum(D(x)) / double(n)});
    check_grad("mean d x", X, VecF(R * C, g[0] / n), VecD(R * C, double(g[0]) / double(n)));
  }
  {
    Tensor X = leaf({R, C}, x);
    Tensor S = prism::sum_rows(X);
    const VecF g = seed_backward(S, 63);
    check_against("sum_rows forward", S.to_vector(), ref::sum_rows(x, R, C), ref::sum_rows(D(x), R, C));
    VecF gf(R * C);
    for (int64_t i = 0; i < R * C; ++i) gf[i] = g[i / C];
    check_grad("sum_rows d x", X, gf, D(gf));
  }
}

TEST_CASE("tape: conv2d (input, weight, bias) over stride / padding variants", "[gradcheck][tape]") {
  prism::ScopedMode mode(generate_mode());
  struct Case {
    Conv2dShape s;
    int64_t co;
    bool bias;
  };
  const Case cases[] = {
      {{4, 1, 12, 12, 3, 3, 1, 1}, 8, true},  // conv1-like; dW reduces over N·OH·OW = 576 rows
      {{2, 3, 9, 9, 3, 3, 2, 1}, 5, true},
      {{2, 2, 6, 7, 3, 3, 2, 0}, 3, false},
      {{3, 4, 5, 5, 1, 1, 1, 0}, 2, true}};
  for (const Case& c : cases) {
    const Conv2dShape& s = c.s;
    const VecF x = frand(s.n * s.c * s.h * s.w, -1, 1, 70), w = frand(c.co * s.c * s.kh * s.kw, -1, 1, 71),
               b = c.bias ? frand(c.co, -1, 1, 72) : VecF{};
    Tensor X = leaf({s.n, s.c, s.h, s.w}, x), W = leaf({c.co, s.c, s.kh, s.kw}, w);
    Tensor B = c.bias ? leaf({c.co}, b) : Tensor();
    Tensor Y = prism::conv2d(X, W, B, s.stride, s.pad);
    REQUIRE(Y.shape() == Shape{s.n, c.co, s.oh(), s.ow()});
    const VecF g = seed_backward(Y, 73);
    std::ostringstream os;
    os << "conv2d x[" << s.n << "," << s.c << "," << s.h << "," << s.w << "] k " << s.kh << " stride "
       << s.stride << " pad " << s.pad << " co " << c.co << (c.bias ? " +bias" : "");
    const std::string what = os.str();
    check_against(what + " forward", Y.to_vector(), ref::conv2d(x, w, b, s, c.co),
                  ref::conv2d(D(x), D(w), D(b), s, c.co));
    VecF dx, dw, db;
    VecD dxd, dwd, dbd;
    ref::conv2d_backward(dx, dw, db, g, x, w, s, c.co);
    ref::conv2d_backward(dxd, dwd, dbd, D(g), D(x), D(w), s, c.co);
    check_grad(what + " d x", X, dx, dxd);
    check_grad(what + " d w", W, dw, dwd);
    if (c.bias) check_grad(what + " d b", B, db, dbd);
  }
}

TEST_CASE("tape: ceil-mode pooling as torch's on a worked 3 x 3 example", "[tape]") {
  // x = 1..9 in a 3 x 3 plane, k 2, stride 2, ceil_mode: torch gives 2 x 2 outputs; the windows of the last row
  // and column hang over the edge, and avg_pool2d divides by the part inside (count_include_pad, no padding).
  const VecF x{1, 2, 3, 4, 5, 6, 7, 8, 9};
  Tensor X = leaf({1, 1, 3, 3}, x);
  const Tensor mx = prism::max_pool2d(X, 2, 2, 0, true), av = prism::avg_pool2d(X, 2, 2, 0, true);
  CHECK(mx.shape() == Shape{1, 1, 2, 2});
  CHECK(mx.to_vector() == std::vector<float>{5, 6, 8, 9});
  CHECK(av.to_vector() == std::vector<float>{3, 4.5f, 7.5f, 9});
  // Without ceil_mode the output is 1 x 1; with padding 1 and ceil_mode the windows stay 2 x 2 (the third
  // would start in the right padding and is dropped, as torch drops it).
  CHECK(prism::max_pool2d(X, 2, 2).shape() == Shape{1, 1, 1, 1});
  CHECK(prism::max_pool2d(X, 2, 2, 1, true).shape() == Shape{1, 1, 2, 2});
  // d avg / d x: each input gets 1 / (its window's divisor).
  prism::run_backward(av, Tensor::from_vector({1, 1, 2, 2}, {1, 1, 1, 1}));
  CHECK(X.grad().to_vector() == std::vector<float>{0.25f, 0.25f, 0.5f, 0.25f, 0.25f, 0.5f, 0.5f, 0.5f, 1});
}

TEST_CASE("tape: concat_channels copies the parts in order and slices the gradient back", "[tape]") {
  prism::ScopedMode mode(generate_mode());
  const int64_t N = 2, H = 3, W = 2;
  const int64_t channels[] = {1, 3, 2};
  std::vector<Tensor> parts;
  std::vector<VecF> values;
  for (int i = 0; i < 3; ++i) {
    values.push_back(frand(N * channels[i] * H * W, -1, 1, 90 + i));
    parts.push_back(leaf({N, channels[i], H, W}, values.back()));
  }
  Tensor Y = prism::concat_channels(parts);
  REQUIRE(Y.shape() == Shape{N, 6, H, W});
  const VecF y = Y.to_vector();
  const VecF g = seed_backward(Y, 95);
  for (int64_t n = 0; n < N; ++n) {
    int64_t offset = 0;
    for (int i = 0; i < 3; ++i) {
      for (int64_t c = 0; c < channels[i]; ++c)
        for (int64_t p = 0; p < H * W; ++p) {
          const int64_t out = (n * 6 + offset + c) * H * W + p, in = (n * channels[i] + c) * H * W + p;
          INFO("concat_channels [2,6,3,2] part " << i << ", n " << n << ", channel " << c << ", pixel " << p);
          REQUIRE(y[static_cast<size_t>(out)] == values[static_cast<size_t>(i)][static_cast<size_t>(in)]);
          REQUIRE(parts[static_cast<size_t>(i)].grad().to_vector()[static_cast<size_t>(in)] ==
                  g[static_cast<size_t>(out)]);
        }
      offset += channels[i];
    }
  }
  CHECK_THROWS_WITH(prism::concat_channels({parts[0], Tensor::zeros({N, 1, H + 1, W})}),
                    Catch::Contains("concat_channels") && Catch::Contains("part 1"));
  CHECK_THROWS_WITH(prism::concat_channels({}), Catch::Contains("at least one part"));
}

TEST_CASE("tape: max_pool2d, avg_pool2d, global_avg_pool", "[gradcheck][tape]") {
  prism::ScopedMode mode(generate_mode());
  const Pool2dShape shapes[] = {{2, 3, 8, 8, 2, 2, 0},
                                {1, 2, 7, 7, 3, 2, 1},
                                {2, 1, 5, 4, 2, 2, 0},
                                {1, 2, 8, 8, 3, 2, 0, true},
                                {2, 1, 6, 6, 3, 2, 1, true}};
  for (const Pool2dShape& s : shapes) {
    std::ostringstream os;
    os << "[" << s.n << "," << s.c << "," << s.h << "," << s.w << "] k " << s.k << " stride " << s.stride
       << " pad " << s.pad << (s.ceil ? " ceil" : "");
    const VecF x = frand(s.n * s.c * s.h * s.w, -1, 1, 80);
    {
      Tensor X = leaf({s.n, s.c, s.h, s.w}, x);
      Tensor Y = prism::max_pool2d(X, s.k, s.stride, s.pad, s.ceil);
      const VecF g = seed_backward(Y, 81);
      std::vector<int32_t> arg;
      const VecF yf = ref::maxpool2d(x, s, &arg);
      check_against("max_pool2d " + os.str() + " forward", Y.to_vector(), yf, ref::maxpool2d(D(x), s, &arg));
      check_grad("max_pool2d " + os.str() + " d x", X, ref::maxpool2d_backward(g, arg, s),
                 ref::maxpool2d_backward(D(g), arg, s));
    }
    {
      Tensor X = leaf({s.n, s.c, s.h, s.w}, x);
      Tensor Y = prism::avg_pool2d(X, s.k, s.stride, s.pad, s.ceil);
      const VecF g = seed_backward(Y, 82);
      check_against("avg_pool2d " + os.str() + " forward", Y.to_vector(), ref::avgpool2d(x, s),
                    ref::avgpool2d(D(x), s));
      check_grad("avg_pool2d " + os.str() + " d x", X, ref::avgpool2d_backward(g, s),
                 ref::avgpool2d_backward(D(g), s));
    }
  }
  const int64_t N = 3, C = 4, H = 20, W = 20;  // H·W = 400: the plane sum spans two chunks
  const VecF x = frand(N * C * H * W, -1, 1, 83);
  Tensor X = leaf({N, C, H, W}, x);
  Tensor Y = prism::global_avg_pool(X);
  REQUIRE(Y.shape() == Shape{N, C});
  const VecF g = seed_backward(Y, 84);
  check_against("global_avg_pool forward", Y.to_vector(), ref::global_avg_pool(x, N * C, H * W),
                ref::global_avg_pool(D(x), N * C, H * W));
  check_grad("global_avg_pool d x", X, ref::global_avg_pool_backward(g, N * C, H * W),
             ref::global_avg_pool_backward(D(g), N * C, H * W));
}

TEST_CASE("tape: batch_norm training (x, gamma, beta), running statistics, eval mode", "[gradcheck][tape]") {
  prism::ScopedMode mode(generate_mode());
  const float eps = 1e-5f, momentum = 0.1f;
  const Shape shapes[] = {{64, 5}, {4, 3, 7, 7}, {300, 2}};
  for (const Shape& shape : shapes) {
    const ref::BnShape s{shape[0], shape[1], prism::shape_numel(shape) / (shape[0] * shape[1])};
    const std::string what = "batch_norm " + prism::shape_str(shape);
    const VecF x = frand(prism::shape_numel(shape), -1, 3, 90), gamma = frand(s.c, 0.5f, 1.5f, 91),
               beta = frand(s.c, -1, 1, 92), rm0 = frand(s.c, -1, 1, 93), rv0 = frand(s.c, 0.5f, 2, 94);
    Tensor X = leaf(shape, x), G = leaf({s.c}, gamma), B = leaf({s.c}, beta);
    Tensor rm = Tensor::from_vector({s.c}, rm0), rv = Tensor::from_vector({s.c}, rv0);
    Tensor Y = prism::batch_norm(X, G, B, rm, rv, true, momentum, eps);
    const VecF g = seed_backward(Y, 95);
    VecF mean_f, var_f;
    VecD mean_d, var_d;
    check_against(what + " forward", Y.to_vector(), ref::batch_norm(x, gamma, beta, eps, s, &mean_f, &var_f),
                  ref::batch_norm(D(x), D(gamma), D(beta), double(eps), s, &mean_d, &var_d));
    VecF dx, dg, db;
    VecD dxd, dgd, dbd;
    ref::batch_norm_backward(dx, dg, db, g, x, gamma, eps, s);
    ref::batch_norm_backward(dxd, dgd, dbd, D(g), D(x), D(gamma), double(eps), s);
    // dx = (gamma·invstd / M)·(M·dy − dbeta − x̂·dgamma) cancels to O(1/sqrt M) of its terms: 1e-4 in float.
    check_grad(what + " d x", X, dx, dxd, 1e-4);
    check_grad(what + " d gamma", G, dg, dgd);
    check_grad(what + " d beta", B, db, dbd);
    // Running statistics: (1 − momentum)·running + momentum·batch, the variance unbiased by M / (M − 1).
    VecF rm_f = rm0, rv_f = rv0;
    for (int64_t ch = 0; ch < s.c; ++ch)
      prism::kern::batchnorm_update_running_one(rm_f.data(), rv_f.data(), mean_f.data(), var_f.data(),
                                                momentum, s.n * s.hw, ch);
    VecD rm_d(s.c), rv_d(s.c);
    const double M = double(s.n * s.hw);
    for (int64_t ch = 0; ch < s.c; ++ch) {
      rm_d[ch] = (1 - double(momentum)) * rm0[ch] + double(momentum) * mean_d[ch];
      rv_d[ch] = (1 - double(momentum)) * rv0[ch] + double(momentum) * var_d[ch] * M / (M - 1);
    }
    check_against(what + " running mean", rm.to_vector(), rm_f, rm_d);
    check_against(what + " running var", rv.to_vector(), rv_f, rv_d);
    // Eval mode: the running statistics, no graph (backward through it is refused with a message).
    {
      prism::NoGradGuard no_grad;
      Tensor Ye = prism::batch_norm(X, G, B, rm, rv, false, momentum, eps);
      const VecF rmv = rm.to_vector(), rvv = rv.to_vector();
      VecF want(x.size());
      for (size_t i = 0; i < x.size(); ++i)
        want[i] = prism::kern::batchnorm_forward_one(x.data(), rmv.data(), rvv.data(), gamma.data(),
                                                     beta.data(), eps, s.c, s.hw, int64_t(i));
      VecD want_d(x.size());
      for (size_t i = 0; i < x.size(); ++i) {
        const int64_t ch = (int64_t(i) / s.hw) % s.c;
        want_d[i] = double(gamma[ch]) * (x[i] - double(rmv[ch])) / std::sqrt(double(rvv[ch]) + double(eps)) +
                    beta[ch];
      }
      check_against(what + " eval forward", Ye.to_vector(), want, want_d);
    }
    CHECK_THROWS_AS(prism::batch_norm(X, G, B, rm, rv, false, momentum, eps), prism::Error);
  }
}

TEST_CASE("tape: l2_normalize, including a zero row", "[gradcheck][tape]") {
  prism::ScopedMode mode(generate_mode());
  const int64_t R = 9, Dm = 300;
  VecF x = frand(R * Dm, -1, 1, 100);
  for (int64_t j = 0; j < Dm; ++j) x[3 * Dm + j] = 0.0f;  // clamped to eps: dx = dy / eps
  Tensor X = leaf({R, Dm}, x);
  Tensor Y = prism::l2_normalize(X);
  VecF g = seed_backward(Y, 101);
  check_against("l2_normalize forward", Y.to_vector(), ref::l2_normalize(x, R, Dm, 1e-12f),
                ref::l2_normalize(D(x), R, Dm, double(1e-12f)));
  // The zero row's gradient is dy / 1e-12 (huge); compare it separately so it does not swamp the others'
  // scale.
  const VecF gx = X.grad().to_vector();
  const VecF want_f = ref::l2_normalize_backward(g, x, R, Dm, 1e-12f);
  const VecD want_d = ref::l2_normalize_backward(D(g), D(x), R, Dm, double(1e-12f));
  auto rows = [&](const auto& v, bool zero_row) {
    std::remove_cv_t<std::remove_reference_t<decltype(v)>> out;
    for (int64_t r = 0; r < R; ++r)
      if ((r == 3) == zero_row) out.insert(out.end(), v.begin() + r * Dm, v.begin() + (r + 1) * Dm);
    return out;
  };
  check_against("l2_normalize d x (normal rows)", rows(gx, false), rows(want_f, false), rows(want_d, false));
  check_against("l2_normalize d x (zero row)", rows(gx, true), rows(want_f, true), rows(want_d, true));
}

TEST_CASE("tape: softmax_rows forward (not differentiable) and reshape", "[gradcheck][tape]") {
  prism::ScopedMode mode(generate_mode());
  const int64_t R = 7, C = 300;
  const VecF x = frand(R * C, -5, 5, 110);
  Tensor Y = prism::softmax_rows(Tensor::from_vector({R, C}, x));
  VecF yf(R * C);
  VecD yd(R * C);
  const VecD xd = D(x);
  for (int64_t r = 0; r < R; ++r) {
    prism::kern::softmax_row(yf.data(), x.data(), C, r);
    prism::kern::softmax_row(yd.data(), xd.data(), C, r);
  }
  // Exact mode uses the portable exp; the CPU softmax has no libm path, so fast mode is bit-identical too.
  check_against("softmax_rows", Y.to_vector(), yf, yd);

  // reshape: a view whose gradient is reshaped back.
  Tensor X = leaf({4, 6}, frand(24, -1, 1, 111));
  Tensor V = X.reshape({2, 3, 4});
  CHECK(V.same_storage(X));
  const VecF g = seed_backward(V, 112);
  check_grad("reshape d x", X, g, D(g));
}

TEST_CASE("tape: gradients of a reused input accumulate", "[gradcheck][tape]") {
  prism::ScopedMode mode(generate_mode());
  // y = x·x + x  →  dy/dx = 2x + 1, through two paths into the same leaf.
  const VecF x = frand(10, -1, 1, 120);
  Tensor X = leaf({10}, x);
  Tensor Y = prism::add(prism::mul(X, X), X);
  prism::sum(Y).backward();
  const VecF gx = X.grad().to_vector();
  for (int i = 0; i < 10; ++i) {
    INFO("element " << i << ", x = " << x[i]);
    CHECK(gx[i] == Approx(2 * x[i] + 1).epsilon(1e-6));
  }
  // A second backward pass adds into the existing .grad.
  Tensor Y2 = prism::scale(X, 3.0f);
  prism::sum(Y2).backward();
  const VecF gx2 = X.grad().to_vector();
  for (int i = 0; i < 10; ++i) CHECK(gx2[i] == Approx(2 * x[i] + 4).epsilon(1e-6));
  // No recording under NoGradGuard, and backward() of an untracked tensor is an error.
  prism::NoGradGuard guard;
  Tensor Z = prism::mul(X, X);
  CHECK_FALSE(Z.requires_grad());
  CHECK_THROWS_AS(prism::sum(Z).backward(), prism::Error);
}

TEST_CASE("tape: a small CNN embedder end to end against the reference drivers", "[gradcheck][tape]") {
  // x → conv(1→3, 3×3, pad 1) → batch_norm → relu → max_pool 2 → conv(3→4, 3×3, pad 1) + b → relu
  //   → global_avg_pool → linear(4→5) → l2_normalize → gram → Σ W ⊙ G
  // (no bias before batch norm: its gradient is zero in exact arithmetic, so only rounding noise would be
  // compared)
  prism::ScopedMode mode(generate_mode());
  const int64_t N = 3;
  const Conv2dShape s1{N, 1, 8, 8, 3, 3, 1, 1};
  const Pool2dShape p1{N, 3, 8, 8, 2, 2, 0};
  const Conv2dShape s2{N, 3, 4, 4, 3, 3, 1, 1};
  const ref::BnShape bn{N, 3, 64};
  const ref::MatmulShape lin{N, 5, 4, false, true};
  const float eps = 1e-5f;
  const VecF x = frand(N * 64, -1, 1, 130), w1 = frand(27, -0.5f, 0.5f, 131), b2 = frand(4, -0.1f, 0.1f, 132),
             gm = frand(3, 0.5f, 1.5f, 133), bt = frand(3, -0.2f, 0.2f, 134),
             w2 = frand(108, -0.3f, 0.3f, 135), w3 = frand(20, -0.5f, 0.5f, 136),
             b3 = frand(5, -0.1f, 0.1f, 137), Wl = frand(N * N, -1, 1, 138);

  Tensor X = leaf({N, 1, 8, 8}, x), W1 = leaf({3, 1, 3, 3}, w1), B2 = leaf({4}, b2), GM = leaf({3}, gm),
         BT = leaf({3}, bt), W2 = leaf({4, 3, 3, 3}, w2), W3 = leaf({5, 4}, w3), B3 = leaf({5}, b3);
  Tensor rm = Tensor::zeros({3}), rv = Tensor::full({3}, 1.0f);
  Tensor h = prism::conv2d(X, W1, Tensor(), 1, 1);
  h = prism::batch_norm(h, GM, BT, rm, rv, true, 0.1f, eps);
  h = prism::max_pool2d(prism::relu(h), 2, 2);
  h = prism::global_avg_pool(prism::relu(prism::conv2d(h, W2, B2, 1, 1)));
  Tensor e = prism::l2_normalize(prism::linear(h, W3, B3));
  Tensor loss = prism::sum(prism::mul(prism::gram(e), Tensor::from_vector({N, N}, Wl)));
  loss.backward();

  // The same network through the reference drivers, forward then backward by hand.
  auto run = [&](auto tag, auto& grads) {
    using T = decltype(tag);
    auto C = [](const VecF& v) { return ref::cast<T>(v); };
    const T teps = T(eps);
    auto a1 = ref::conv2d(C(x), C(w1), ref::Vec<T>{}, s1, 3);
    auto a2 = ref::batch_norm(a1, C(gm), C(bt), teps, bn);
    auto a3 = ref::unary(UnaryOp::relu, a2);
    std::vector<int32_t> arg;
    auto a4 = ref::maxpool2d(a3, p1, &arg);
    auto a5 = ref::conv2d(a4, C(w2), C(b2), s2, 4);
    auto a6 = ref::unary(UnaryOp::relu, a5);
    auto a7 = ref::global_avg_pool(a6, N * 4, 16);
    auto a8 = ref::binary(BinaryOp::add, ref::matmul(a7, C(w3), lin), C(b3), ref::Bcast{N, 5, 1});
    auto a9 = ref::l2_normalize(a8, N, 5, T(1e-12f));
    auto G = ref::gram(a9, N, 5);
    T total = 0;
    {
      auto prod = ref::binary(BinaryOp::mul, G, C(Wl), ref::Bcast{1, 1, 1});
      total = ref::sum(prod);
    }
    // backward
    auto gG = C(Wl);
    auto g9 = ref::gram_backward(gG, a9, N, 5);
    auto g8 = ref::l2_normalize_backward(g9, a8, N, 5, T(1e-12f));
    ref::Vec<T> g7, gw3;
    ref::matmul_backward(g7, gw3, g8, a7, C(w3), lin);
    auto gb3 = ref::reduce_mid(g8, N, 5, 1);
    auto g6 = ref::global_avg_pool_backward(g7, N * 4, 16);
    auto g5 = ref::unary_backward(UnaryOp::relu, g6, a5, a6);
    ref::Vec<T> g4, gw2, gb2;
    ref::conv2d_backward(g4, gw2, gb2, g5, a4, C(w2), s2, 4);
    auto g3 = ref::maxpool2d_backward(g4, arg, p1);
    auto g2 = ref::unary_backward(UnaryOp::relu, g3, a2, a3);
    ref::Vec<T> g1, ggm, gbt;
    ref::batch_norm_backward(g1, ggm, gbt, g2, a1, C(gm), teps, bn);
    ref::Vec<T> gx, gw1, unused;
    ref::conv2d_backward(gx, gw1, unused, g1, C(x), C(w1), s1, 3);
    grads = {{total}, gx, gw1, ggm, gbt, gw2, gb2, gw3, gb3};
  };
  std::vector<VecF> rf;
  std::vector<VecD> rd;
  run(float(0), rf);
  run(double(0), rd);
  check_against("cnn loss", loss.to_vector(), rf[0], rd[0]);
  const char* names[] = {"",          "d x",       "d conv1.w", "d bn.gamma", "d bn.beta",
                         "d conv2.w", "d conv2.b", "d fc.w",    "d fc.b"};
  const Tensor* leaves[] = {nullptr, &X, &W1, &GM, &BT, &W2, &B2, &W3, &B3};
  for (int k = 1; k < 9; ++k) check_grad(std::string("cnn ") + names[k], *leaves[k], rf[k], rd[k], 1e-4);
}
