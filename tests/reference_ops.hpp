// Reference loop drivers for the tests: every differentiable op's forward and backward built from the kern::
// bodies (include/prism/kernels), templated on the scalar type so the gradient checks run them in double.
// Each backward mirrors the wiring of src/core/ops_*.cpp (same GEMM transposes, same reductions), so checking
// it by central differences in double checks the formulas, and comparing the float tape against it checks the
// implementation.
#pragma once
#include <cstdint>
#include <vector>

#include "prism/backend.hpp"
#include "prism/kernels/batchnorm.hpp"
#include "prism/kernels/conv.hpp"
#include "prism/kernels/elementwise.hpp"
#include "prism/kernels/gemm.hpp"
#include "prism/kernels/normalize.hpp"
#include "prism/kernels/pool.hpp"
#include "prism/kernels/reduce.hpp"

namespace prism::ref {

template <class T>
using Vec = std::vector<T>;

template <class To, class From>
Vec<To> cast(const Vec<From>& v) {
  return Vec<To>(v.begin(), v.end());
}

// ---- linear algebra ---------------------------------------------------------------------------------------

// C[M, N] = alpha · op(A) · op(B) in the given order (kern::gemm_reference).
template <class T>
Vec<T> gemm(const Vec<T>& A, const Vec<T>& B, int64_t M, int64_t N, int64_t K, bool ta, bool tb,
            GemmOrder order = GemmOrder::chain, T alpha = T(1)) {
  Vec<T> C(M * N);
  kern::gemm_reference(C.data(), A.data(), B.data(), M, N, K, ta, tb, alpha, order);
  return C;
}

struct MatmulShape {
  int64_t M, N, K;
  bool ta, tb;
};

template <class T>
Vec<T> matmul(const Vec<T>& a, const Vec<T>& b, const MatmulShape& s) {
  return gemm(a, b, s.M, s.N, s.K, s.ta, s.tb);
}

// dA (stored like A) and dB (stored like B) of C = op(A)·op(B), as prism::matmul records them.
template <class T>
void matmul_backward(Vec<T>& da, Vec<T>& db, const Vec<T>& g, const Vec<T>& a, const Vec<T>& b,
                     const MatmulShape& s) {
  const auto [M, N, K, ta, tb] = s;
  da = ta ? gemm(b, g, K, M, N, tb, true, GemmOrder::chunked)
          : gemm(g, b, M, K, N, false, !tb, GemmOrder::chunked);
  db = tb ? gemm(g, a, N, K, M, true, ta, GemmOrder::chunked)
          : gemm(a, g, K, N, M, !ta, false, GemmOrder::chunked);
}

// G = x·xᵀ for x[N, D]; dx = (g + gᵀ)·x.
template <class T>
Vec<T> gram(const Vec<T>& x, int64_t N, int64_t D) {
  return gemm(x, x, N, N, D, false, true);
}
template <class T>
Vec<T> gram_backward(const Vec<T>& g, const Vec<T>& x, int64_t N, int64_t D) {
  Vec<T> sym(N * N);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j) sym[i * N + j] = g[i * N + j] + g[j * N + i];
  return gemm(sym, x, N, D, N, false, false, GemmOrder::chunked);
}

template <class T>
Vec<T> transpose(const Vec<T>& x, int64_t batch, int64_t rows, int64_t cols) {
  Vec<T> y(x.size());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) y[(b * cols + c) * rows + r] = x[(b * rows + r) * cols + c];
  return y;
}

// ---- elementwise ------------------------------------------------------------------------------------------
// b is either the same shape as a or broadcast along axis 1 ([outer, mid, inner] view).

struct Bcast {
  int64_t outer, mid, inner;  // b has mid elements; same shape when b.size() == a.size()
};

template <class T>
Vec<T> binary(BinaryOp op, const Vec<T>& a, const Vec<T>& b, const Bcast& s) {
  Vec<T> out(a.size());
  const bool same = a.size() == b.size();
  for (size_t i = 0; i < a.size(); ++i)
    out[i] = kern::binary_one<T>(op, a[i], same ? b[i] : b[(i / s.inner) % s.mid]);
  return out;
}

// Sum over (outer, inner) per mid index: the canonical chunked reduction of reduce_mid.
template <class T>
Vec<T> reduce_mid(const Vec<T>& x, int64_t outer, int64_t mid, int64_t inner) {
  Vec<T> out(mid);
  for (int64_t m = 0; m < mid; ++m)
    out[m] = kern::chunked_reduce_mid<T>(m, outer, mid, inner, [&](int64_t i, T acc) { return acc + x[i]; });
  return out;
}

template <class T>
void binary_backward(BinaryOp op, Vec<T>& ga, Vec<T>& gb, const Vec<T>& g, const Vec<T>& a, const Vec<T>& b,
                     const Bcast& s) {
  const bool same = a.size() == b.size();
  ga = op == BinaryOp::mul ? binary(BinaryOp::mul, g, b, s) : g;
  Vec<T> gb_full = op == BinaryOp::mul ? binary(BinaryOp::mul, g, a, Bcast{1, 1, 1}) : g;
  gb = same ? gb_full : reduce_mid(gb_full, s.outer, s.mid, s.inner);
  if (op == BinaryOp::sub)
    for (auto& v : gb) v = -v;
}

template <class T>
Vec<T> unary(UnaryOp op, const Vec<T>& x) {
  Vec<T> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = kern::unary_one<T>(op, x[i]);
  return y;
}
template <class T>
Vec<T> unary_backward(UnaryOp op, const Vec<T>& g, const Vec<T>& x, const Vec<T>& y) {
  Vec<T> gx(x.size());
  for (size_t i = 0; i < x.size(); ++i) gx[i] = kern::unary_backward_one<T>(op, g[i], x[i], y[i]);
  return gx;
}

// ---- reductions -------------------------------------------------------------------------------------------

template <class T>
T sum(const Vec<T>& x) {
  return kern::chunked_reduce<T>(static_cast<int64_t>(x.size()),
                                 [&](int64_t i, T acc) { return acc + x[i]; });
}
template <class T>
Vec<T> sum_rows(const Vec<T>& x, int64_t R, int64_t C) {
  Vec<T> out(R);
  for (int64_t r = 0; r < R; ++r)
    out[r] = kern::chunked_reduce<T>(C, [&](int64_t i, T acc) { return acc + x[r * C + i]; });
  return out;
}

// ---- conv2d: im2col + GEMM (rows·Wᵀ), per-image transpose to NCHW, bias -----------------------------------

template <class T>
Vec<T> im2col(const Vec<T>& x, const Conv2dShape& s) {
  const int64_t R = s.n * s.oh() * s.ow(), CKK = s.c * s.kh * s.kw;
  Vec<T> col(R * CKK);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t k = 0; k < CKK; ++k) col[r * CKK + k] = kern::im2col_one<T>(x.data(), s, r, k);
  return col;
}
template <class T>
Vec<T> col2im(const Vec<T>& col, const Conv2dShape& s) {
  Vec<T> x(s.n * s.c * s.h * s.w);
  for (size_t i = 0; i < x.size(); ++i) x[i] = kern::col2im_one<T>(col.data(), s, static_cast<int64_t>(i));
  return x;
}

// bias may be empty (no bias).
template <class T>
Vec<T> conv2d(const Vec<T>& x, const Vec<T>& w, const Vec<T>& bias, const Conv2dShape& s, int64_t Co) {
  const int64_t P = s.oh() * s.ow(), R = s.n * P, CKK = s.c * s.kh * s.kw;
  Vec<T> out = transpose(gemm(im2col(x, s), w, R, Co, CKK, false, true), s.n, P, Co);
  if (!bias.empty())
    for (size_t i = 0; i < out.size(); ++i) out[i] = out[i] + bias[(i / P) % Co];
  return out;
}

// The direct convolution (kern::conv2d_one), which the im2col path must reproduce bit for bit.
template <class T>
Vec<T> conv2d_direct(const Vec<T>& x, const Vec<T>& w, const Vec<T>& bias, const Conv2dShape& s, int64_t Co) {
  const int64_t OH = s.oh(), OW = s.ow();
  Vec<T> out(s.n * Co * OH * OW);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t co = 0; co < Co; ++co)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          out[((n * Co + co) * OH + oh) * OW + ow] =
              kern::conv2d_one<T>(x.data(), w.data(), bias.empty() ? nullptr : bias.data(), s, co, n, oh, ow);
  return out;
}

template <class T>
void conv2d_backward(Vec<T>& dx, Vec<T>& dw, Vec<T>& db, const Vec<T>& g, const Vec<T>& x, const Vec<T>& w,
                     const Conv2dShape& s, int64_t Co) {
  const int64_t P = s.oh() * s.ow(), R = s.n * P, CKK = s.c * s.kh * s.kw;
  const Vec<T> g_rows = transpose(g, s.n, Co, P);
  dw = gemm(g_rows, im2col(x, s), Co, CKK, R, true, false, GemmOrder::chunked);
  dx = col2im(gemm(g_rows, w, R, CKK, Co, false, false, GemmOrder::chunked), s);
  db = reduce_mid(g, s.n, Co, P);
}

// ---- pooling ----------------------------------------------------------------------------------------------

template <class T>
Vec<T> maxpool2d(const Vec<T>& x, const Pool2dShape& s, std::vector<int32_t>* argmax) {
  const int64_t n_out = s.n * s.c * s.oh() * s.ow();
  Vec<T> out(n_out);
  argmax->resize(n_out);
  for (int64_t i = 0; i < n_out; ++i) out[i] = kern::maxpool2d_one<T>(x.data(), s, i, argmax->data() + i);
  return out;
}
template <class T>
Vec<T> maxpool2d_backward(const Vec<T>& g, const std::vector<int32_t>& argmax, const Pool2dShape& s) {
  Vec<T> dx(s.n * s.c * s.h * s.w);
  for (size_t i = 0; i < dx.size(); ++i)
    dx[i] = kern::maxpool2d_backward_one<T>(g.data(), argmax.data(), s, static_cast<int64_t>(i));
  return dx;
}
template <class T>
Vec<T> avgpool2d(const Vec<T>& x, const Pool2dShape& s) {
  Vec<T> out(s.n * s.c * s.oh() * s.ow());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = kern::avgpool2d_one<T>(x.data(), s, static_cast<int64_t>(i));
  return out;
}
template <class T>
Vec<T> avgpool2d_backward(const Vec<T>& g, const Pool2dShape& s) {
  Vec<T> dx(s.n * s.c * s.h * s.w);
  for (size_t i = 0; i < dx.size(); ++i)
    dx[i] = kern::avgpool2d_backward_one<T>(g.data(), s, static_cast<int64_t>(i));
  return dx;
}

// [N, C, H·W] → [N, C]: chunked sum over the plane, ÷ H·W; the gradient spreads g ÷ H·W.
template <class T>
Vec<T> global_avg_pool(const Vec<T>& x, int64_t NC, int64_t HW) {
  Vec<T> out = sum_rows(x, NC, HW);
  for (auto& v : out) v = v / T(HW);
  return out;
}
template <class T>
Vec<T> global_avg_pool_backward(const Vec<T>& g, int64_t NC, int64_t HW) {
  Vec<T> dx(NC * HW);
  for (int64_t i = 0; i < NC * HW; ++i) dx[i] = g[i / HW] / T(HW);
  return dx;
}

// ---- batch norm (training: batch statistics) --------------------------------------------------------------

struct BnShape {
  int64_t n, c, hw;
};

template <class T>
Vec<T> batch_norm(const Vec<T>& x, const Vec<T>& gamma, const Vec<T>& beta, T eps, const BnShape& s,
                  Vec<T>* mean_out = nullptr, Vec<T>* var_out = nullptr) {
  Vec<T> mean(s.c), var(s.c), y(x.size());
  for (int64_t ch = 0; ch < s.c; ++ch)
    kern::batchnorm_stats_one<T>(mean.data(), var.data(), x.data(), s.n, s.c, s.hw, ch);
  for (size_t i = 0; i < x.size(); ++i)
    y[i] = kern::batchnorm_forward_one<T>(x.data(), mean.data(), var.data(), gamma.data(), beta.data(), eps,
                                          s.c, s.hw, static_cast<int64_t>(i));
  if (mean_out) *mean_out = mean;
  if (var_out) *var_out = var;
  return y;
}

template <class T>
void batch_norm_backward(Vec<T>& dx, Vec<T>& dgamma, Vec<T>& dbeta, const Vec<T>& g, const Vec<T>& x,
                         const Vec<T>& gamma, T eps, const BnShape& s) {
  Vec<T> mean, var;
  const Vec<T> beta(s.c, T(0));
  batch_norm(x, gamma, beta, eps, s, &mean, &var);
  dgamma.assign(s.c, T(0));
  dbeta.assign(s.c, T(0));
  dx.assign(x.size(), T(0));
  for (int64_t ch = 0; ch < s.c; ++ch)
    kern::batchnorm_param_grads_one<T>(dgamma.data(), dbeta.data(), g.data(), x.data(), mean.data(),
                                       var.data(), eps, s.n, s.c, s.hw, ch);
  for (size_t i = 0; i < x.size(); ++i)
    dx[i] =
        kern::batchnorm_dx_one<T>(g.data(), x.data(), mean.data(), var.data(), gamma.data(), dgamma.data(),
                                  dbeta.data(), eps, s.n, s.c, s.hw, static_cast<int64_t>(i));
}

// ---- row-wise L2 normalisation ----------------------------------------------------------------------------

template <class T>
Vec<T> l2_normalize(const Vec<T>& x, int64_t R, int64_t D, T eps, Vec<T>* norm_out = nullptr) {
  Vec<T> y(x.size()), norm(R);
  for (int64_t r = 0; r < R; ++r) kern::l2_normalize_row<T>(y.data(), norm.data(), x.data(), D, eps, r);
  if (norm_out) *norm_out = norm;
  return y;
}
template <class T>
Vec<T> l2_normalize_backward(const Vec<T>& g, const Vec<T>& x, int64_t R, int64_t D, T eps) {
  Vec<T> norm, dx(x.size());
  const Vec<T> y = l2_normalize(x, R, D, eps, &norm);
  for (int64_t r = 0; r < R; ++r)
    kern::l2_normalize_backward_row<T>(dx.data(), g.data(), y.data(), norm.data(), D, eps, r);
  return dx;
}

}  // namespace prism::ref
