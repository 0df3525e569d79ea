// CPU launch emulator for the CUDA backend's exact kernels (test support, host only): runs the kernel bodies
// of cuda/exact/*.hpp with the same grid/block loops as cuda/launch.cuh, so a machine without a GPU can check
// the CUDA kernels' arithmetic against the CPU backend bit for bit (tests/test_cuda_emulator.cpp).
//
// each-launches walk blocks × threads × the grid-stride loop exactly as the CUDA wrapper does. Phased
// launches run each phase for every thread of a block before the next phase starts (the __syncthreads()
// points), with shared memory and per-thread registers poisoned with NaN first, so a body that reads shared
// memory it did not load, or a register it did not set, shows up as a NaN in the output. Scratch buffers are
// poisoned the same way. EmuBackend wraps it as a Backend on host memory whose kernels are the CUDA backend's
// exact kernels.
#pragma once
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/exact/batchnorm.hpp"
#include "cuda/exact/conv.hpp"
#include "cuda/exact/dml.hpp"
#include "cuda/exact/elementwise.hpp"
#include "cuda/exact/gemm.hpp"
#include "cuda/exact/launch.hpp"
#include "cuda/exact/memory.hpp"
#include "cuda/exact/normalize.hpp"
#include "cuda/exact/optim.hpp"
#include "cuda/exact/pool.hpp"
#include "cuda/exact/reduce.hpp"
#include "prism/backend.hpp"

namespace prism::cuda::emu {

// 0xFF bytes: a NaN as float, −1 as int32.
template <class T>
void poison(T* p, size_t count) {
  std::memset(static_cast<void*>(p), 0xFF, count * sizeof(T));
}

class Launcher {
 public:
  class Scratch {
   public:
    explicit Scratch(int64_t count) : v_(static_cast<size_t>(count > 0 ? count : 0)) {
      poison(v_.data(), v_.size());
    }
    float* data() { return v_.data(); }

   private:
    std::vector<float> v_;
  };

  template <class F>
  void each(int64_t n, const F& f, const char*) {
    if (n <= 0) return;
    const int64_t blocks = each_blocks(n), stride = blocks * kEachThreads;
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t t = 0; t < kEachThreads; ++t)
        for (int64_t i = b * kEachThreads + t; i < n; i += stride) f(i);
    ++launches_;
  }

  template <class K>
  void phased(Grid grid, const K& k, const char* what) {
    std::vector<typename K::Regs> regs(K::kThreads);
    auto shared = std::make_unique<typename K::Shared>();
    for (uint32_t bz = 0; bz < grid.z; ++bz)
      for (uint32_t by = 0; by < grid.y; ++by)
        for (uint32_t bx = 0; bx < grid.x; ++bx) {
          poison(shared.get(), 1);
          poison(regs.data(), regs.size());
          const int64_t steps = k.steps(ThreadIdx{bx, by, bz, 0});
          for (uint32_t tx = 0; tx < K::kThreads; ++tx) {
            const ThreadIdx t{bx, by, bz, tx};
            if (k.steps(t) != steps)
              throw std::logic_error(std::string("emulator: ") + what + ": steps() differs within a block");
            k.begin(regs[tx], t);
          }
          for (int64_t s = 0; s < steps; ++s) {
            for (uint32_t tx = 0; tx < K::kThreads; ++tx) k.load(*shared, ThreadIdx{bx, by, bz, tx}, s);
            for (uint32_t tx = 0; tx < K::kThreads; ++tx)
              k.compute(regs[tx], *shared, ThreadIdx{bx, by, bz, tx}, s);
          }
          for (uint32_t tx = 0; tx < K::kThreads; ++tx) k.end(regs[tx], ThreadIdx{bx, by, bz, tx});
        }
    ++launches_;
  }

  Scratch scratch(int64_t count) { return Scratch(count); }

  int64_t launches() const { return launches_; }

 private:
  int64_t launches_ = 0;
};

// A Backend on host memory whose kernels are the CUDA backend's exact kernels run by the emulator. Always
// exact (it ignores its mode(), as the CUDA fast paths are cuBLAS and free reductions, which only a GPU can
// run). The registry can put one in the cuda slot (prism::use_cuda_emulator, prism/registry.hpp). gemm_scratch_floats lowers the split-k scratch cap so tests can reach the chunk-group path with
// small shapes.
class EmuBackend final : public Backend {
 public:
  explicit EmuBackend(int64_t gemm_scratch_floats = exact::kGemmScratchFloats)
      : gemm_scratch_(gemm_scratch_floats) {}

  DeviceType device() const override { return DeviceType::cuda; }
  bool supports(Op) const override { return true; }
  Launcher& launcher() { return launch_; }

  void* alloc(size_t bytes) override {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void dealloc(void* p, size_t) override { std::free(p); }
  void upload(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memmove(dst, src, bytes); }
  void fill_f32(float* x, float value, int64_t n) override { exact::fill_f32(launch_, x, value, n); }
  void fill_i32(int32_t* x, int32_t value, int64_t n) override { exact::fill_i32(launch_, x, value, n); }

  void gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
            bool trans_b, float alpha, GemmOrder order) override {
    exact::gemm(launch_, C, A, B, M, N, K, trans_a, trans_b, alpha, order, gemm_scratch_);
  }
  void im2col(float* col, const float* in, const Conv2dShape& s) override {
    exact::im2col(launch_, col, in, s);
  }
  void col2im(float* din, const float* col, const Conv2dShape& s) override {
    exact::col2im(launch_, din, col, s);
  }

  void unary_forward(UnaryOp op, float* out, const float* in, int64_t n) override {
    exact::unary_forward(launch_, op, out, in, n);
  }
  void unary_backward(UnaryOp op, float* din, const float* dout, const float* in, const float* out,
                      int64_t n) override {
    exact::unary_backward(launch_, op, din, dout, in, out, n);
  }
  void binary(BinaryOp op, float* out, const float* a, const float* b, int64_t n) override {
    exact::binary(launch_, op, out, a, b, n);
  }
  void binary_scalar(BinaryOp op, float* out, const float* a, float b, int64_t n) override {
    exact::binary_scalar(launch_, op, out, a, b, n);
  }
  void broadcast_binary(BinaryOp op, float* out, const float* a, const float* b, int64_t outer, int64_t mid,
                        int64_t inner) override {
    exact::broadcast_binary(launch_, op, out, a, b, outer, mid, inner);
  }

  void reduce_sum(float* out1, const float* in, int64_t n) override {
    exact::reduce_sum(launch_, out1, in, n);
  }
  void reduce_mid(float* out, const float* in, int64_t outer, int64_t mid, int64_t inner) override {
    exact::reduce_mid(launch_, out, in, outer, mid, inner);
  }
  void reduce_inner(float* out, const float* in, int64_t outer, int64_t inner) override {
    exact::reduce_inner(launch_, out, in, outer, inner);
  }
  void transpose(float* out, const float* in, int64_t batch, int64_t rows, int64_t cols) override {
    exact::transpose(launch_, out, in, batch, rows, cols);
  }

  void maxpool2d_forward(float* out, int32_t* argmax, const float* in, const Pool2dShape& s) override {
    exact::maxpool2d_forward(launch_, out, argmax, in, s);
  }
  void maxpool2d_backward(float* din, const float* dout, const int32_t* argmax,
                          const Pool2dShape& s) override {
    exact::maxpool2d_backward(launch_, din, dout, argmax, s);
  }
  void avgpool2d_forward(float* out, const float* in, const Pool2dShape& s) override {
    exact::avgpool2d_forward(launch_, out, in, s);
  }
  void avgpool2d_backward(float* din, const float* dout, const Pool2dShape& s) override {
    exact::avgpool2d_backward(launch_, din, dout, s);
  }

  void batchnorm_stats(float* mean, float* var, const float* x, int64_t n, int64_t c, int64_t hw) override {
    exact::batchnorm_stats(launch_, mean, var, x, n, c, hw);
  }
  void batchnorm_forward(float* y, const float* x, const float* mean, const float* var, const float* gamma,
                         const float* beta, float eps, int64_t n, int64_t c, int64_t hw) override {
    exact::batchnorm_forward(launch_, y, x, mean, var, gamma, beta, eps, n, c, hw);
  }
  void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                          const float* mean, const float* var, const float* gamma, float eps, int64_t n,
                          int64_t c, int64_t hw) override {
    exact::batchnorm_backward(launch_, dx, dgamma, dbeta, dy, x, mean, var, gamma, eps, n, c, hw);
  }
  void batchnorm_update_running(float* running_mean, float* running_var, const float* mean, const float* var,
                                float momentum, int64_t count, int64_t c) override {
    exact::batchnorm_update_running(launch_, running_mean, running_var, mean, var, momentum, count, c);
  }

  void l2_normalize_forward(float* y, float* norm, const float* x, int64_t rows, int64_t dim,
                            float eps) override {
    exact::l2_normalize_forward(launch_, y, norm, x, rows, dim, eps);
  }
  void l2_normalize_backward(float* dx, const float* dy, const float* y, const float* norm, int64_t rows,
                             int64_t dim, float eps) override {
    exact::l2_normalize_backward(launch_, dx, dy, y, norm, rows, dim, eps);
  }
  void softmax_rows(float* out, const float* in, int64_t rows, int64_t cols) override {
    exact::softmax_rows(launch_, out, in, rows, cols);
  }

  void sgd_update(float* param, float* momentum_buf, const float* grad, int64_t n,
                  const SgdParams& p) override {
    exact::sgd_update(launch_, param, momentum_buf, grad, n, p);
  }
  void adam_update(float* param, float* m, float* v, const float* grad, int64_t n,
                   const AdamParams& p) override {
    exact::adam_update(launch_, param, m, v, grad, n, p);
  }

  void contrastive_forward(float* row_loss, const float* sim, const int32_t* row_labels,
                           const int32_t* col_labels, const int32_t* row_mask, const int32_t* col_mask,
                           int64_t rows, int64_t cols, float margin, float pos_eps) override {
    exact::contrastive_forward(launch_, row_loss, sim, row_labels, col_labels, row_mask, col_mask, rows, cols,
                               margin, pos_eps);
  }
  void contrastive_backward(float* dsim, const float* sim, const int32_t* row_labels,
                            const int32_t* col_labels, const int32_t* row_mask, const int32_t* col_mask,
                            int64_t rows, int64_t cols, float margin, float pos_eps, float scale) override {
    exact::contrastive_backward(launch_, dsim, sim, row_labels, col_labels, row_mask, col_mask, rows, cols,
                                margin, pos_eps, scale);
  }
  void multi_similarity_forward(float* row_loss, float* row_stats, const float* sim,
                                const int32_t* row_labels, const int32_t* col_labels, const int32_t* row_mask,
                                const int32_t* col_mask, int64_t rows, int64_t cols,
                                const MultiSimilarityParams& p) override {
    exact::multi_similarity_forward(launch_, row_loss, row_stats, sim, row_labels, col_labels, row_mask,
                                    col_mask, rows, cols, p);
  }
  void multi_similarity_backward(float* dsim, const float* sim, const float* row_stats,
                                 const int32_t* row_labels, const int32_t* col_labels,
                                 const int32_t* row_mask, const int32_t* col_mask, int64_t rows, int64_t cols,
                                 const MultiSimilarityParams& p, float scale) override {
    exact::multi_similarity_backward(launch_, dsim, sim, row_stats, row_labels, col_labels, row_mask,
                                     col_mask, rows, cols, p, scale);
  }
  void softtriple_forward(float* row_loss, float* row_lse, const float* sim, const int32_t* labels,
                          const int32_t* row_mask, int64_t rows, int64_t classes, int64_t K,
                          const SoftTripleParams& p) override {
    exact::softtriple_forward(launch_, row_loss, row_lse, sim, labels, row_mask, rows, classes, K, p);
  }
  void softtriple_backward(float* dsim, const float* sim, const float* row_lse, const int32_t* labels,
                           const int32_t* row_mask, int64_t rows, int64_t classes, int64_t K,
                           const SoftTripleParams& p, float scale) override {
    exact::softtriple_backward(launch_, dsim, sim, row_lse, labels, row_mask, rows, classes, K, p, scale);
  }
  void softtriple_reg_forward(float* reg, float* dfac, const float* centers, int64_t classes, int64_t K,
                              int64_t dim) override {
    exact::softtriple_reg_forward(launch_, reg, dfac, centers, classes, K, dim);
  }
  void softtriple_reg_backward(float* dcenters, const float* dfac, const float* centers, int64_t classes,
                               int64_t K, int64_t dim, float scale) override {
    exact::softtriple_reg_backward(launch_, dcenters, dfac, centers, classes, K, dim, scale);
  }
  void segment_mean_rows(float* out, const float* in, const int32_t* order, const int32_t* offsets,
                         int64_t groups, int64_t dim) override {
    exact::segment_mean_rows(launch_, out, in, order, offsets, groups, dim);
  }
  void copy_rows(float* dst, const int32_t* dst_rows, const float* src, const int32_t* src_rows,
                 int64_t count, int64_t dim) override {
    exact::copy_rows(launch_, dst, dst_rows, src, src_rows, count, dim);
  }

 private:
  Launcher launch_;
  int64_t gemm_scratch_;
};

}  // namespace prism::cuda::emu
