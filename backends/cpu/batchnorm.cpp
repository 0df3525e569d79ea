// CPU batch norm: the arithmetic of kernels/batchnorm.hpp, walked plane by plane with each channel's
// constants (invstd, the dx scale) computed once — the same expressions as the per-element bodies, so
// bit-identical to them. Statistics and parameter gradients run in parallel over channels (a channel's
// chunked sums stay in one thread). Fast mode uses the same kernels: they are memory-bound and already
// vectorisable.
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
  parallel_each(n * c, std::max<int64_t>(1, 16384 / hw), [&](int64_t plane) {
    const int64_t ch = plane % c;
    const float m = mean[ch], invstd = kern::batchnorm_invstd(var[ch], eps), g = gamma[ch], b = beta[ch];
    const float* xp = x + plane * hw;
    float* yp = y + plane * hw;
    for (int64_t i = 0; i < hw; ++i) yp[i] = kern::batchnorm_apply(xp[i], m, invstd, g, b);
  });
}

void CpuBackend::batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                    const float* mean, const float* var, const float* gamma, float eps,
                                    int64_t n, int64_t c, int64_t hw) {
  parallel_each(c, 1, [&](int64_t ch) {
    kern::batchnorm_param_grads_one(dgamma, dbeta, dy, x, mean, var, eps, n, c, hw, ch);
  });
  const float M = static_cast<float>(n * hw);
  parallel_each(n * c, std::max<int64_t>(1, 16384 / hw), [&](int64_t plane) {
    const int64_t ch = plane % c;
    const float m = mean[ch], invstd = kern::batchnorm_invstd(var[ch], eps);
    const float k = kern::batchnorm_dx_scale(gamma[ch], invstd, M), dg = dgamma[ch], db = dbeta[ch];
    const float* xp = x + plane * hw;
    const float* gp = dy + plane * hw;
    float* dp = dx + plane * hw;
    for (int64_t i = 0; i < hw; ++i) dp[i] = kern::batchnorm_dx(gp[i], xp[i], m, invstd, k, M, dg, db);
  });
}

void CpuBackend::batchnorm_update_running(float* running_mean, float* running_var, const float* mean,
                                          const float* var, float momentum, int64_t count, int64_t c) {
  for (int64_t ch = 0; ch < c; ++ch)
    kern::batchnorm_update_running_one(running_mean, running_var, mean, var, momentum, count, ch);
}

}  // namespace prism::cpu
