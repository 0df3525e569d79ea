// The CUDA backend. Exact mode launches the shared kernel bodies of cuda/exact/*.hpp (the canonical order of
// include/prism/kernels, bit-identical to the CPU backend); fast mode uses cuBLAS SGEMM (FP32, no TF32) and
// free-order reductions. One stream, one caching allocator, every CUDA and cuBLAS call checked. Each op
// family lives in its own .cu with the same base name as in backends/cpu. Included by nvcc-compiled sources
// only (C++17).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "prism/backend.hpp"

namespace prism::cuda {

// Throws prism::Error("cuda: <call> failed in <op>: <reason>") unless the call succeeded.
void check(cudaError_t err, const char* call, const char* op);
void check(cublasStatus_t status, const char* call, const char* op);
#define PRISM_CUDA_CHECK(call, op) ::prism::cuda::check((call), #call, (op))

// Device memory with reuse: freed blocks go to a free list per size class and are handed out again, so
// steady-state training never calls cudaMalloc. Size classes: multiples of 512 B up to 1 MiB, multiples of 1
// MiB above (a block serves any request that rounds to its class). All work runs on one stream, so a block
// freed while kernels that use it are still queued can be reused at once: later users are ordered after them.
// On out-of-memory the cache is released and the allocation tried once more.
class DeviceAllocator {
 public:
  struct Stats {
    size_t in_use_bytes = 0, cached_bytes = 0, peak_in_use_bytes = 0;
    int64_t device_allocs = 0, reuses = 0;
  };
  DeviceAllocator() = default;
  DeviceAllocator(const DeviceAllocator&) = delete;
  DeviceAllocator& operator=(const DeviceAllocator&) = delete;
  ~DeviceAllocator();

  static size_t size_class(size_t bytes);
  void* alloc(size_t bytes, const char* op);
  void release(void* p, size_t bytes);
  void empty_cache();  // cudaFree every cached block
  Stats stats() const;

 private:
  mutable std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  Stats stats_;
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device);  // throws prism::Error naming the failing call
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  DeviceType device() const override { return DeviceType::cuda; }
  bool supports(Op) const override { return true; }
  void synchronize() override;

  cudaStream_t stream() const { return stream_; }
  DeviceAllocator& allocator() { return alloc_; }
  const std::string& name() const { return name_; }
  // After each launch: report a launch error naming the kernel; with PRISM_CUDA_SYNC=1 also wait for the
  // kernel, so an execution error names it too (debugging aid, slow).
  void after_launch(const char* what);

  // memory.cu
  void* alloc(size_t bytes) override;
  void dealloc(void* p, size_t bytes) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void fill_f32(float* x, float value, int64_t n) override;
  void fill_i32(int32_t* x, int32_t value, int64_t n) override;

  // gemm.cu (exact: tiled FMA-chain kernel; fast: cuBLAS)
  void gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
            bool trans_b, float alpha, GemmOrder order) override;

  // conv.cu
  void im2col(float* col, const float* in, const Conv2dShape& s) override;
  void col2im(float* din, const float* col, const Conv2dShape& s) override;

  // elementwise.cu
  void unary_forward(UnaryOp op, float* out, const float* in, int64_t n) override;
  void unary_backward(UnaryOp op, float* din, const float* dout, const float* in, const float* out,
                      int64_t n) override;
  void binary(BinaryOp op, float* out, const float* a, const float* b, int64_t n) override;
  void binary_scalar(BinaryOp op, float* out, const float* a, float b, int64_t n) override;
  void broadcast_binary(BinaryOp op, float* out, const float* a, const float* b, int64_t outer, int64_t mid,
                        int64_t inner) override;

  // reduce.cu
  void reduce_sum(float* out1, const float* in, int64_t n) override;
  void reduce_mid(float* out, const float* in, int64_t outer, int64_t mid, int64_t inner) override;
  void reduce_inner(float* out, const float* in, int64_t outer, int64_t inner) override;
  void transpose(float* out, const float* in, int64_t batch, int64_t rows, int64_t cols) override;

  // pool.cu
  void maxpool2d_forward(float* out, int32_t* argmax, const float* in, const Pool2dShape& s) override;
  void maxpool2d_backward(float* din, const float* dout, const int32_t* argmax,
                          const Pool2dShape& s) override;
  void avgpool2d_forward(float* out, const float* in, const Pool2dShape& s) override;
  void avgpool2d_backward(float* din, const float* dout, const Pool2dShape& s) override;

  // batchnorm.cu
  void batchnorm_stats(float* mean, float* var, const float* x, int64_t n, int64_t c, int64_t hw) override;
  void batchnorm_forward(float* y, const float* x, const float* mean, const float* var, const float* gamma,
                         const float* beta, float eps, int64_t n, int64_t c, int64_t hw) override;
  void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                          const float* mean, const float* var, const float* gamma, float eps, int64_t n,
                          int64_t c, int64_t hw) override;
  void batchnorm_update_running(float* running_mean, float* running_var, const float* mean, const float* var,
                                float momentum, int64_t count, int64_t c) override;

  // normalize.cu
  void l2_normalize_forward(float* y, float* norm, const float* x, int64_t rows, int64_t dim,
                            float eps) override;
  void l2_normalize_backward(float* dx, const float* dy, const float* y, const float* norm, int64_t rows,
                             int64_t dim, float eps) override;
  void softmax_rows(float* out, const float* in, int64_t rows, int64_t cols) override;

  // optim.cu
  void sgd_update(float* param, float* momentum_buf, const float* grad, int64_t n,
                  const SgdParams& p) override;
  void adam_update(float* param, float* m, float* v, const float* grad, int64_t n,
                   const AdamParams& p) override;

  // dml.cu
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

 private:
  int device_;
  std::string name_;
  bool sync_each_launch_ = false;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  DeviceAllocator alloc_;
};

}  // namespace prism::cuda
