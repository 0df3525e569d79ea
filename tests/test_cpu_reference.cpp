// The CPU backend's restructured loops (im2col, col2im, max pool, batch norm, segment means) against the
// reference per-output bodies of include/prism/kernels, by memcmp: the CPU walks outputs in cache-friendly
// orders but must perform exactly the reference arithmetic.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/kernels/batchnorm.hpp"
#include "prism/kernels/conv.hpp"
#include "prism/kernels/dml.hpp"
#include "prism/kernels/pool.hpp"

using namespace prism;

namespace {
std::vector<float> random_vector(size_t n, uint64_t sub, float lo = -1, float hi = 1) {
  Rng rng = Rng(7, RngStream::test).fork(sub);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

// First index where a and b differ bitwise, or -1.
int64_t first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return static_cast<int64_t>(i);
  return -1;
}

#define REQUIRE_BITWISE(op, shape, got, want)                                                            \
  do {                                                                                                   \
    REQUIRE((got).size() == (want).size());                                                              \
    const int64_t at = first_difference(got, want);                                                      \
    INFO(op << " " << shape << ": first difference at " << at << ": cpu " << (at >= 0 ? (got)[at] : 0.f) \
            << " vs reference " << (at >= 0 ? (want)[at] : 0.f));                                        \
    CHECK(at == -1);                                                                                     \
  } while (0)

std::string conv_str(const Conv2dShape& s) {
  return "N" + std::to_string(s.n) + " C" + std::to_string(s.c) + " " + std::to_string(s.h) + "x" +
         std::to_string(s.w) + " k" + std::to_string(s.kh) + "x" + std::to_string(s.kw) + " s" +
         std::to_string(s.stride) + " p" + std::to_string(s.pad);
}
}  // namespace

TEST_CASE("cpu im2col/col2im equal the reference bodies bit for bit", "[reference][conv]") {
  cpu::CpuBackend be;
  const Conv2dShape shapes[] = {{2, 3, 7, 6, 3, 3, 1, 1},
                                {1, 2, 9, 9, 3, 3, 2, 1},
                                {3, 1, 5, 8, 2, 3, 1, 0},
                                {2, 4, 6, 6, 5, 5, 2, 2},
                                {1, 1, 1, 1, 1, 1, 1, 0}};
  for (const Conv2dShape& s : shapes) {
    const int64_t rows = s.n * s.oh() * s.ow(), ckk = s.c * s.kh * s.kw, in_n = s.n * s.c * s.h * s.w;
    auto in = random_vector(in_n, 1);
    std::vector<float> col(rows * ckk), want(rows * ckk);
    be.im2col(col.data(), in.data(), s);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < ckk; ++k) want[r * ckk + k] = kern::im2col_one(in.data(), s, r, k);
    REQUIRE_BITWISE("im2col", conv_str(s), col, want);

    auto dcol = random_vector(rows * ckk, 2);
    std::vector<float> din(in_n), want_din(in_n);
    be.col2im(din.data(), dcol.data(), s);
    for (int64_t i = 0; i < in_n; ++i) want_din[i] = kern::col2im_one(dcol.data(), s, i);
    REQUIRE_BITWISE("col2im", conv_str(s), din, want_din);
  }
}

TEST_CASE("cpu max pool equals the reference bodies bit for bit", "[reference][pool]") {
  cpu::CpuBackend be;
  const Pool2dShape shapes[] = {{2, 3, 8, 8, 2, 2, 0},       {1, 2, 9, 41, 2, 2, 0},
                                {3, 2, 28, 28, 2, 2, 0},     {1, 2, 7, 9, 3, 2, 1},
                                {2, 1, 5, 5, 3, 1, 1},       {1, 1, 1, 1, 1, 1, 0},
                                {1, 2, 8, 9, 3, 2, 0, true}, {1, 3, 7, 7, 2, 2, 0, true}};  // ceil_mode
  for (const Pool2dShape& s : shapes) {
    const int64_t in_n = s.n * s.c * s.h * s.w, out_n = s.n * s.c * s.oh() * s.ow();
    auto in = random_vector(in_n, 3);
    if (in_n > 1) in[0] = in[1];  // a tie inside the first window
    if (in_n > 40)
      in[2 * s.w + 3] = in[39] = NAN;  // NaN propagates: it wins over numbers, a later NaN does not
    std::vector<float> out(out_n), want(out_n);
    std::vector<int32_t> arg(out_n), want_arg(out_n);
    be.maxpool2d_forward(out.data(), arg.data(), in.data(), s);
    for (int64_t o = 0; o < out_n; ++o) want[o] = kern::maxpool2d_one(in.data(), s, o, &want_arg[o]);
    const std::string shape = "N" + std::to_string(s.n) + " C" + std::to_string(s.c) + " " +
                              std::to_string(s.h) + "x" + std::to_string(s.w) + " k" + std::to_string(s.k) +
                              " s" + std::to_string(s.stride) + " p" + std::to_string(s.pad) +
                              (s.ceil ? " ceil" : "");
    REQUIRE_BITWISE("maxpool2d_forward", shape, out, want);
    CHECK(arg == want_arg);

    auto dout = random_vector(out_n, 4);
    std::vector<float> din(in_n), want_din(in_n);
    be.maxpool2d_backward(din.data(), dout.data(), arg.data(), s);
    for (int64_t i = 0; i < in_n; ++i)
      want_din[i] = kern::maxpool2d_backward_one(dout.data(), arg.data(), s, i);
    REQUIRE_BITWISE("maxpool2d_backward", shape, din, want_din);
  }
}

TEST_CASE("cpu batch norm equals the reference bodies bit for bit", "[reference][batchnorm]") {
  cpu::CpuBackend be;
  const int64_t dims[][3] = {{4, 3, 25}, {64, 5, 1}, {3, 2, 300}, {2, 1, 1}};
  for (const auto& d : dims) {
    const int64_t n = d[0], c = d[1], hw = d[2], total = n * c * hw;
    const std::string shape =
        "[" + std::to_string(n) + ", " + std::to_string(c) + ", " + std::to_string(hw) + "]";
    auto x = random_vector(total, 5, -2, 3), dy = random_vector(total, 6);
    auto gamma = random_vector(c, 7, 0.5, 1.5), beta = random_vector(c, 8);
    std::vector<float> mean(c), var(c), want_mean(c), want_var(c);
    be.batchnorm_stats(mean.data(), var.data(), x.data(), n, c, hw);
    for (int64_t ch = 0; ch < c; ++ch)
      kern::batchnorm_stats_one(want_mean.data(), want_var.data(), x.data(), n, c, hw, ch);
    REQUIRE_BITWISE("batchnorm_stats mean", shape, mean, want_mean);
    REQUIRE_BITWISE("batchnorm_stats var", shape, var, want_var);

    std::vector<float> y(total), want_y(total);
    be.batchnorm_forward(y.data(), x.data(), mean.data(), var.data(), gamma.data(), beta.data(), 1e-5f, n, c,
                         hw);
    for (int64_t i = 0; i < total; ++i)
      want_y[i] = kern::batchnorm_forward_one(x.data(), mean.data(), var.data(), gamma.data(), beta.data(),
                                              1e-5f, c, hw, i);
    REQUIRE_BITWISE("batchnorm_forward", shape, y, want_y);

    std::vector<float> dx(total), dg(c), db(c), want_dx(total), want_dg(c), want_db(c);
    be.batchnorm_backward(dx.data(), dg.data(), db.data(), dy.data(), x.data(), mean.data(), var.data(),
                          gamma.data(), 1e-5f, n, c, hw);
    for (int64_t ch = 0; ch < c; ++ch)
      kern::batchnorm_param_grads_one(want_dg.data(), want_db.data(), dy.data(), x.data(), mean.data(),
                                      var.data(), 1e-5f, n, c, hw, ch);
    for (int64_t i = 0; i < total; ++i)
      want_dx[i] = kern::batchnorm_dx_one(dy.data(), x.data(), mean.data(), var.data(), gamma.data(),
                                          want_dg.data(), want_db.data(), 1e-5f, n, c, hw, i);
    REQUIRE_BITWISE("batchnorm_backward dgamma", shape, dg, want_dg);
    REQUIRE_BITWISE("batchnorm_backward dbeta", shape, db, want_db);
    REQUIRE_BITWISE("batchnorm_backward dx", shape, dx, want_dx);
  }
}

TEST_CASE("cpu segment means equal the reference bodies bit for bit", "[reference][dml]") {
  cpu::CpuBackend be;
  const int64_t rows = 700, dim = 13, groups = 4;
  auto in = random_vector(rows * dim, 9);
  // Group 0 has 600 rows (three chunks), group 1 none, groups 2–3 the rest, in a shuffled order.
  std::vector<int32_t> order(rows), offsets = {0, 600, 600, 650, 700};
  for (int64_t i = 0; i < rows; ++i) order[i] = static_cast<int32_t>((i * 37) % rows);
  std::vector<float> out(groups * dim), want(groups * dim);
  be.segment_mean_rows(out.data(), in.data(), order.data(), offsets.data(), groups, dim);
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t d = 0; d < dim; ++d)
      want[g * dim + d] = kern::segment_mean_one(in.data(), order.data(), offsets.data(), dim, g, d);
  REQUIRE_BITWISE("segment_mean_rows", "[4 groups, 13]", out, want);
}
