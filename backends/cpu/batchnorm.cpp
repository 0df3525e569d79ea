// CPU batch norm: the reference bodies of kernels/batchnorm.hpp, parallel over channels for statistics and
// parameter gradients (each channel's chunked sums stay in one thread) and over elements for the maps.
// Fast mode uses the same kernels: they are memory-bound and already vectorisable.
#include "prism/kernels/batchnorm.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace prism::cpu {

void CpuBackend::batchnorm_stats(float* mean, float* var, const float* x, int64_t n, int64_t c, int64_t hw) {
  parallel_each(c, 1, [&](int64_t ch) { kern::batchnorm_stats_one(mean, var, x, n, c, hw, ch); });
}

void CpuBackend::batchnorm_forward(float* y, const float* x, const float* mean, const float* var,
                                   const float* gamma, const float* beta, float eps, int64_t n, int64_t c,
                                   int64_t hw) {
  parallel_each(n * c, std::max<int64_t>(1, 16384 / hw), [&](int64_t nc) {
    for (int64_t i = nc * hw; i < (nc + 1) * hw; ++i)
      y[i] = kern::batchnorm_forward_one(x, mean, var, gamma, beta, eps, c, hw, i);
  });
}

void CpuBackend::batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                    const float* mean, const float* var, const float* gamma, float eps,
                                    int64_t n, int64_t c, int64_t hw) {
  parallel_each(c, 1, [&](int64_t ch) {
    kern::batchnorm_param_grads_one(dgamma, dbeta, dy, x, mean, var, eps, n, c, hw, ch);
  });
  parallel_each(n * c, std::max<int64_t>(1, 16384 / hw), [&](int64_t nc) {
    for (int64_t i = nc * hw; i < (nc + 1) * hw; ++i)
      dx[i] = kern::batchnorm_dx_one(dy, x, mean, var, gamma, dgamma, dbeta, eps, n, c, hw, i);
  });
}

void CpuBackend::batchnorm_update_running(float* running_mean, float* running_var, const float* mean,
                                          const float* var, float momentum, int64_t count, int64_t c) {
  for (int64_t ch = 0; ch < c; ++ch)
    kern::batchnorm_update_running_one(running_mean, running_var, mean, var, momentum, count, ch);
}

}  // namespace prism::cpu
