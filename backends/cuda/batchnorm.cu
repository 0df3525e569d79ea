// CUDA batch norm. Exact: chunk-parallel per-channel sums added in order (cuda/exact/batchnorm.hpp),
// bit-identical to the CPU. Fast: the per-channel sums as free-order block reductions (cuda/fast.cuh); the
// elementwise maps (y, dx) and the running-statistics update are the exact kernels in both modes.
#include "cuda/cuda_backend.hpp"
#include "cuda/exact/batchnorm.hpp"
#include "cuda/fast.cuh"
#include "cuda/launch.cuh"

namespace prism::cuda {

namespace {
struct SquaredDeviation {
  const float* x;
  const float* mean;
  __device__ float operator()(int64_t i, int64_t m) const {
    const float d = x[i] - mean[m];
    return d * d;
  }
};
struct GradXhat {
  const float* dy;
  const float* x;
  const float* mean;
  const float* var;
  float eps;
  __device__ float operator()(int64_t i, int64_t m) const {
    return dy[i] * ((x[i] - mean[m]) * kern::batchnorm_invstd(var[m], eps));
  }
};
}  // namespace

void CudaBackend::batchnorm_stats(float* mean, float* var, const float* x, int64_t n, int64_t c, int64_t hw) {
  Launcher launch(*this);
  if (mode() == Mode::exact || n * hw <= 0) {
    exact::batchnorm_stats(launch, mean, var, x, n, c, hw);
    return;
  }
  const float count = static_cast<float>(n * hw);
  fast::sum_mid(*this, mean, fast::Plain{x}, n, c, hw, count, "batchnorm_stats (fast mean)");
  fast::sum_mid(*this, var, SquaredDeviation{x, mean}, n, c, hw, count, "batchnorm_stats (fast var)");
}

void CudaBackend::batchnorm_forward(float* y, const float* x, const float* mean, const float* var,
                                    const float* gamma, const float* beta, float eps, int64_t n, int64_t c,
                                    int64_t hw) {
  Launcher launch(*this);
  exact::batchnorm_forward(launch, y, x, mean, var, gamma, beta, eps, n, c, hw);
}

void CudaBackend::batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                     const float* mean, const float* var, const float* gamma, float eps,
                                     int64_t n, int64_t c, int64_t hw) {
  Launcher launch(*this);
  if (mode() == Mode::exact || n * hw <= 0) {
    exact::batchnorm_backward(launch, dx, dgamma, dbeta, dy, x, mean, var, gamma, eps, n, c, hw);
    return;
  }
  fast::sum_mid(*this, dbeta, fast::Plain{dy}, n, c, hw, 1.0f, "batchnorm_backward (fast dbeta)");
  fast::sum_mid(*this, dgamma, GradXhat{dy, x, mean, var, eps}, n, c, hw, 1.0f,
                "batchnorm_backward (fast dgamma)");
  launch.each(n * c * hw, exact::BnDx{dx, dy, x, mean, var, gamma, dgamma, dbeta, eps, n, c, hw},
              "batchnorm_backward (dx)");
}

void CudaBackend::batchnorm_update_running(float* running_mean, float* running_var, const float* mean,
                                           const float* var, float momentum, int64_t count, int64_t c) {
  Launcher launch(*this);
  exact::batchnorm_update_running(launch, running_mean, running_var, mean, var, momentum, count, c);
}

}  // namespace prism::cuda
