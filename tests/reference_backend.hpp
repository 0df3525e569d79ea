// A Backend made of the plainest possible loops over the kern:: reference bodies (include/prism/kernels), one
// output at a time, single-threaded, exact mode only (reference code for tests). The parity test runs every
// case on it and demands that the CPU backend's exact kernels — blocked GEMM, parallel chunked reductions,
// row-walking segment means, blocked transposes — reproduce it bit for bit; a CUDA backend that matches the
// CPU then matches the definitions too.
#pragma once
#include <cstring>
#include <new>

#include "prism/backend.hpp"
#include "prism/kernels/batchnorm.hpp"
#include "prism/kernels/conv.hpp"
#include "prism/kernels/dml.hpp"
#include "prism/kernels/elementwise.hpp"
#include "prism/kernels/gemm.hpp"
#include "prism/kernels/normalize.hpp"
#include "prism/kernels/optim.hpp"
#include "prism/kernels/pool.hpp"
#include "prism/kernels/reduce.hpp"

namespace prism::test {

class ReferenceBackend : public Backend {
 public:
  DeviceType device() const override { return DeviceType::cpu; }
  bool supports(Op) const override { return true; }

  // ---- memory ---------------------------------------------------------------------------------------------
  void* alloc(size_t bytes) override { return ::operator new(bytes ? bytes : 1); }
  void dealloc(void* p, size_t) override { ::operator delete(p); }
  void upload(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memmove(dst, src, bytes); }
  void fill_f32(float* x, float value, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) x[i] = value;
  }
  void fill_i32(int32_t* x, int32_t value, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) x[i] = value;
  }

  // ---- gemm, conv -----------------------------------------------------------------------------------------
  void gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
            bool trans_b, float alpha, GemmOrder order) override {
    kern::gemm_reference(C, A, B, M, N, K, trans_a, trans_b, alpha, order);
  }
  void im2col(float* col, const float* in, const Conv2dShape& s) override {
    const int64_t rows = s.n * s.oh() * s.ow(), ckk = s.c * s.kh * s.kw;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < ckk; ++k) col[r * ckk + k] = kern::im2col_one(in, s, r, k);
  }
  void col2im(float* din, const float* col, const Conv2dShape& s) override {
    for (int64_t i = 0; i < s.n * s.c * s.h * s.w; ++i) din[i] = kern::col2im_one(col, s, i);
  }

  // ---- elementwise ----------------------------------------------------------------------------------------
  void unary_forward(UnaryOp op, float* out, const float* in, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) out[i] = kern::unary_one(op, in[i]);
  }
  void unary_backward(UnaryOp op, float* din, const float* dout, const float* in, const float* out,
                      int64_t n) override {
    for (int64_t i = 0; i < n; ++i)
      din[i] = kern::unary_backward_one(op, dout[i], in ? in[i] : 0.0f, out ? out[i] : 0.0f);
  }
  void binary(BinaryOp op, float* out, const float* a, const float* b, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) out[i] = kern::binary_one(op, a[i], b[i]);
  }
  void binary_scalar(BinaryOp op, float* out, const float* a, float b, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) out[i] = kern::binary_one(op, a[i], b);
  }
  void broadcast_binary(BinaryOp op, float* out, const float* a, const float* b, int64_t outer, int64_t mid,
                        int64_t inner) override {
    for (int64_t i = 0; i < outer * mid * inner; ++i)
      out[i] = kern::binary_one(op, a[i], b[(i / inner) % mid]);
  }

  // ---- reductions -----------------------------------------------------------------------------------------
  void reduce_sum(float* out1, const float* in, int64_t n) override {
    out1[0] = kern::chunked_reduce<float>(n, [&](int64_t i, float acc) { return acc + in[i]; });
  }
  void reduce_mid(float* out, const float* in, int64_t outer, int64_t mid, int64_t inner) override {
    for (int64_t m = 0; m < mid; ++m)
      out[m] = kern::chunked_reduce_mid<float>(m, outer, mid, inner,
                                               [&](int64_t i, float acc) { return acc + in[i]; });
  }
  void reduce_inner(float* out, const float* in, int64_t outer, int64_t inner) override {
    for (int64_t o = 0; o < outer; ++o)
      out[o] =
          kern::chunked_reduce<float>(inner, [&](int64_t i, float acc) { return acc + in[o * inner + i]; });
  }
  void transpose(float* out, const float* in, int64_t batch, int64_t rows, int64_t cols) override {
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) out[(b * cols + c) * rows + r] = in[(b * rows + r) * cols + c];
  }

  // ---- pooling --------------------------------------------------------------------------------------------
  void maxpool2d_forward(float* out, int32_t* argmax, const float* in, const Pool2dShape& s) override {
    for (int64_t i = 0; i < s.n * s.c * s.oh() * s.ow(); ++i)
      out[i] = kern::maxpool2d_one(in, s, i, argmax + i);
  }
  void maxpool2d_backward(float* din, const float* dout, const int32_t* argmax,
                          const Pool2dShape& s) override {
    for (int64_t i = 0; i < s.n * s.c * s.h * s.w; ++i)
      din[i] = kern::maxpool2d_backward_one(dout, argmax, s, i);
  }
  void avgpool2d_forward(float* out, const float* in, const Pool2dShape& s) override {
    for (int64_t i = 0; i < s.n * s.c * s.oh() * s.ow(); ++i) out[i] = kern::avgpool2d_one(in, s, i);
  }
  void avgpool2d_backward(float* din, const float* dout, const Pool2dShape& s) override {
    for (int64_t i = 0; i < s.n * s.c * s.h * s.w; ++i) din[i] = kern::avgpool2d_backward_one(dout, s, i);
  }

  // ---- batch norm -----------------------------------------------------------------------------------------
  void batchnorm_stats(float* mean, float* var, const float* x, int64_t n, int64_t c, int64_t hw) override {
    for (int64_t ch = 0; ch < c; ++ch) kern::batchnorm_stats_one(mean, var, x, n, c, hw, ch);
  }
  void batchnorm_forward(float* y, const float* x, const float* mean, const float* var, const float* gamma,
                         const float* beta, float eps, int64_t n, int64_t c, int64_t hw) override {
    for (int64_t i = 0; i < n * c * hw; ++i)
      y[i] = kern::batchnorm_forward_one(x, mean, var, gamma, beta, eps, c, hw, i);
  }
  void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                          const float* mean, const float* var, const float* gamma, float eps, int64_t n,
                          int64_t c, int64_t hw) override {
    for (int64_t ch = 0; ch < c; ++ch)
      kern::batchnorm_param_grads_one(dgamma, dbeta, dy, x, mean, var, eps, n, c, hw, ch);
    for (int64_t i = 0; i < n * c * hw; ++i)
      dx[i] = kern::batchnorm_dx_one(dy, x, mean, var, gamma, dgamma, dbeta, eps, n, c, hw, i);
  }
  void batchnorm_update_running(float* running_mean, float* running_var, const float* mean, const float* var,
                                float momentum, int64_t count, int64_t c) override {
    for (int64_t ch = 0; ch < c; ++ch)
      kern::batchnorm_update_running_one(running_mean, running_var, mean, var, momentum, count, ch);
  }

  // ---- normalisation --------------------------------------------------------------------------------------
  void l2_normalize_forward(float* y, float* norm, const float* x, int64_t rows, int64_t dim,
                            float eps) override {
    for (int64_t r = 0; r < rows; ++r) kern::l2_normalize_row(y, norm, x, dim, eps, r);
  }
  void l2_normalize_backward(float* dx, const float* dy, const float* y, const float* norm, int64_t rows,
                             int64_t dim, float eps) override {
    for (int64_t r = 0; r < rows; ++r) kern::l2_normalize_backward_row(dx, dy, y, norm, dim, eps, r);
  }
  void softmax_rows(float* out, const float* in, int64_t rows, int64_t cols) override {
    for (int64_t r = 0; r < rows; ++r) kern::softmax_row(out, in, cols, r);
  }

  // ---- optimizers -----------------------------------------------------------------------------------------
  void sgd_update(float* param, float* momentum_buf, const float* grad, int64_t n,
                  const SgdParams& p) override {
    for (int64_t i = 0; i < n; ++i) kern::sgd_one(param, momentum_buf, grad, p, i);
  }
  void adam_update(float* param, float* m, float* v, const float* grad, int64_t n,
                   const AdamParams& p) override {
    for (int64_t i = 0; i < n; ++i) kern::adam_one(param, m, v, grad, p, i);
  }

  // ---- metric learning ------------------------------------------------------------------------------------
  void contrastive_forward(float* row_loss, const float* sim, const int32_t* row_labels,
                           const int32_t* col_labels, const int32_t* row_mask, const int32_t* col_mask,
                           int64_t rows, int64_t cols, float margin, float pos_eps) override {
    for (int64_t i = 0; i < rows; ++i)
      row_loss[i] =
          kern::contrastive_row(sim, row_labels, col_labels, row_mask, col_mask, cols, margin, pos_eps, i);
  }
  void contrastive_backward(float* dsim, const float* sim, const int32_t* row_labels,
                            const int32_t* col_labels, const int32_t* row_mask, const int32_t* col_mask,
                            int64_t rows, int64_t cols, float margin, float pos_eps, float scale) override {
    for (int64_t idx = 0; idx < rows * cols; ++idx)
      dsim[idx] = kern::contrastive_grad_one(sim, row_labels, col_labels, row_mask, col_mask, cols, margin,
                                             pos_eps, scale, idx);
  }
  void multi_similarity_forward(float* row_loss, float* row_stats, const float* sim,
                                const int32_t* row_labels, const int32_t* col_labels, const int32_t* row_mask,
                                const int32_t* col_mask, int64_t rows, int64_t cols,
                                const MultiSimilarityParams& p) override {
    for (int64_t i = 0; i < rows; ++i)
      kern::ms_row<float>(row_loss, row_stats, sim, row_labels, col_labels, row_mask, col_mask, cols, p, i);
  }
  void multi_similarity_backward(float* dsim, const float* sim, const float* row_stats,
                                 const int32_t* row_labels, const int32_t* col_labels,
                                 const int32_t* row_mask, const int32_t* col_mask, int64_t rows, int64_t cols,
                                 const MultiSimilarityParams& p, float scale) override {
    for (int64_t idx = 0; idx < rows * cols; ++idx)
      dsim[idx] = kern::ms_grad_one<float>(sim, row_stats, row_labels, col_labels, row_mask, col_mask, cols,
                                           p, scale, idx);
  }
  void softtriple_forward(float* row_loss, float* row_lse, const float* sim, const int32_t* labels,
                          const int32_t* row_mask, int64_t rows, int64_t classes, int64_t K,
                          const SoftTripleParams& p) override {
    for (int64_t i = 0; i < rows; ++i)
      kern::softtriple_row<float>(row_loss, row_lse, sim, labels, row_mask, classes, K, p, i);
  }
  void softtriple_backward(float* dsim, const float* sim, const float* row_lse, const int32_t* labels,
                           const int32_t* row_mask, int64_t rows, int64_t classes, int64_t K,
                           const SoftTripleParams& p, float scale) override {
    for (int64_t idx = 0; idx < rows * classes * K; ++idx)
      dsim[idx] = kern::softtriple_grad_one<float>(sim, row_lse, labels, row_mask, classes, K, p, scale, idx);
  }
  void softtriple_reg_forward(float* reg, float* dfac, const float* centers, int64_t classes, int64_t K,
                              int64_t dim) override {
    for (int64_t g = 0; g < classes * K; ++g) kern::softtriple_reg_row<float>(reg, dfac, centers, K, dim, g);
  }
  void softtriple_reg_backward(float* dcenters, const float* dfac, const float* centers, int64_t classes,
                               int64_t K, int64_t dim, float scale) override {
    for (int64_t idx = 0; idx < classes * K * dim; ++idx)
      dcenters[idx] = kern::softtriple_reg_grad_one<float>(dfac, centers, K, dim, scale, idx);
  }
  void segment_mean_rows(float* out, const float* in, const int32_t* order, const int32_t* offsets,
                         int64_t groups, int64_t dim) override {
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t d = 0; d < dim; ++d)
        out[g * dim + d] = kern::segment_mean_one(in, order, offsets, dim, g, d);
  }
  void copy_rows(float* dst, const int32_t* dst_rows, const float* src, const int32_t* src_rows,
                 int64_t count, int64_t dim) override {
    for (int64_t j = 0; j < count; ++j)
      for (int64_t d = 0; d < dim; ++d)
        dst[int64_t(dst_rows[j]) * dim + d] = src[int64_t(src_rows[j]) * dim + d];
  }
};

}  // namespace prism::test
