// The CPU backend: exact-mode kernels are the reference loops of include/prism/kernels (run in parallel over
// outputs or fixed chunks with oneTBB, so the thread count never changes a bit); fast-mode kernels use Eigen
// GEMM and free oneTBB reductions. Each op family lives in its own file with the same base name as in
// backends/cuda.
#pragma once
#include <tbb/info.h>

#include "prism/backend.hpp"

namespace prism::cpu {

class CpuBackend final : public Backend {
 public:
  CpuBackend() { set_num_threads(static_cast<int>(tbb::info::default_concurrency())); }
  DeviceType device() const override { return DeviceType::cpu; }
  bool supports(Op) const override { return true; }

  // memory.cpp
  void* alloc(size_t bytes) override;
  void dealloc(void* p, size_t bytes) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void fill_f32(float* x, float value, int64_t n) override;
  void fill_i32(int32_t* x, int32_t value, int64_t n) override;

  // gemm.cpp (exact: blocked FMA-chain kernel), gemm_fast.cpp (Eigen)
  void gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
            bool trans_b, float alpha, GemmOrder order) override;

  // conv.cpp
  void im2col(float* col, const float* in, const Conv2dShape& s) override;
  void col2im(float* din, const float* col, const Conv2dShape& s) override;
  void conv2d_forward(float* out, const float* in, const float* w, const float* bias, const Conv2dShape& s,
                      int64_t co) override;
  void conv2d_backward(float* dx, float* dw, float* db, const float* dout, const float* in, const float* w,
                       const Conv2dShape& s, int64_t co) override;

  // elementwise.cpp
  void unary_forward(UnaryOp op, float* out, const float* in, int64_t n) override;
  void unary_backward(UnaryOp op, float* din, const float* dout, const float* in, const float* out,
                      int64_t n) override;
  void binary(BinaryOp op, float* out, const float* a, const float* b, int64_t n) override;
  void binary_scalar(BinaryOp op, float* out, const float* a, float b, int64_t n) override;
  void broadcast_binary(BinaryOp op, float* out, const float* a, const float* b, int64_t outer, int64_t mid,
                        int64_t inner) override;

  // reduce.cpp
  void reduce_sum(float* out1, const float* in, int64_t n) override;
  void reduce_mid(float* out, const float* in, int64_t outer, int64_t mid, int64_t inner) override;
  void reduce_inner(float* out, const float* in, int64_t outer, int64_t inner) override;
  void transpose(float* out, const float* in, int64_t batch, int64_t rows, int64_t cols) override;

  // pool.cpp
  void maxpool2d_forward(float* out, int32_t* argmax, const float* in, const Pool2dShape& s) override;
  void maxpool2d_backward(float* din, const float* dout, const int32_t* argmax,
                          const Pool2dShape& s) override;
  void avgpool2d_forward(float* out, const float* in, const Pool2dShape& s) override;
  void avgpool2d_backward(float* din, const float* dout, const Pool2dShape& s) override;

  // batchnorm.cpp
  void batchnorm_stats(float* mean, float* var, const float* x, int64_t n, int64_t c, int64_t hw) override;
  void batchnorm_forward(float* y, const float* x, const float* mean, const float* var, const float* gamma,
                         const float* beta, float eps, int64_t n, int64_t c, int64_t hw) override;
  void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                          const float* mean, const float* var, const float* gamma, float eps, int64_t n,
                          int64_t c, int64_t hw) override;
  void batchnorm_update_running(float* running_mean, float* running_var, const float* mean, const float* var,
                                float momentum, int64_t count, int64_t c) override;

  // normalize.cpp
  void l2_normalize_forward(float* y, float* norm, const float* x, int64_t rows, int64_t dim,
                            float eps) override;
  void l2_normalize_backward(float* dx, const float* dy, const float* y, const float* norm, int64_t rows,
                             int64_t dim, float eps) override;
  void softmax_rows(float* out, const float* in, int64_t rows, int64_t cols) override;

  // optim.cpp
  void sgd_update(float* param, float* momentum_buf, const float* grad, int64_t n,
                  const SgdParams& p) override;
  void adam_update(float* param, float* m, float* v, const float* grad, int64_t n,
                   const AdamParams& p) override;

  // dml.cpp
  void contrastive_forward(float* row_loss, const float* sim, const int32_t* row_labels,
                           const int32_t* col_labels, const int32_t* row_mask, const int32_t* col_mask,
                           int64_t rows, int64_t cols, float margin, float pos_eps) override;
  void contrastive_backward(float* dsim, const float* sim, const int32_t* row_labels,
                            const int32_t* col_labels, const int32_t* row_mask, const int32_t* col_mask,
                            int64_t rows, int64_t cols, float margin, float pos_eps, float scale) override;
  void multi_similarity_forward(float* row_loss, float* row_stats, const float* sim,
                                const int32_t* row_labels, const int32_t* col_labels, const int32_t* row_mask,
                                const int32_t* col_mask, int64_t rows, int64_t cols,
                                const MultiSimilarityParams& p) override;
  void multi_similarity_backward(float* dsim, const float* sim, const float* row_stats,
                                 const int32_t* row_labels, const int32_t* col_labels,
                                 const int32_t* row_mask, const int32_t* col_mask, int64_t rows, int64_t cols,
                                 const MultiSimilarityParams& p, float scale) override;
  void softtriple_forward(float* row_loss, float* row_lse, const float* sim, const int32_t* labels,
                          const int32_t* row_mask, int64_t rows, int64_t classes, int64_t K,
                          const SoftTripleParams& p) override;
  void softtriple_backward(float* dsim, const float* sim, const float* row_lse, const int32_t* labels,
                           const int32_t* row_mask, int64_t rows, int64_t classes, int64_t K,
                           const SoftTripleParams& p, float scale) override;
  void softtriple_reg_forward(float* reg, float* dfac, const float* centers, int64_t classes, int64_t K,
                              int64_t dim) override;
  void softtriple_reg_backward(float* dcenters, const float* dfac, const float* centers, int64_t classes,
                               int64_t K, int64_t dim, float scale) override;
  void segment_mean_rows(float* out, const float* in, const int32_t* order, const int32_t* offsets,
                         int64_t groups, int64_t dim) override;
  void copy_rows(float* dst, const int32_t* dst_rows, const float* src, const int32_t* src_rows,
                 int64_t count, int64_t dim) override;
};

// The exact blocked GEMM and the Eigen GEMM, callable directly (benchmarks, tests). `threads` is the host
// thread budget (CpuBackend passes its num_threads()): it picks how the work is split — never a bit of an exact
// result — and how many Eigen products the fast GEMM runs side by side.
void gemm_exact(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
                bool trans_b, float alpha, GemmOrder order, int threads);
void gemm_fast(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
               bool trans_b, float alpha, int threads);

}  // namespace prism::cpu
