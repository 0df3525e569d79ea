// CPU batch norm (fast path): the arithmetic of kernels/batchnorm.hpp, walked plane by plane with each
// channel's constants (invstd, the dx scale) computed once — the same expressions as the per-element bodies,
// so bit-identical to them; the per-element loops are the ISA variant's (isa.hpp), so a portable build gets
// the CPU's fma inline instead of a libm call per element. Statistics and parameter gradients run in
// parallel over channels (a channel's chunked sums stay in one thread). Fast mode uses the same kernels.
#include "prism/kernels/batchnorm.hpp"
#include <algorithm>

#include "cpu/chunked_channels.hpp"
#include "cpu/cpu_backend.hpp"

namespace prism::cpu {

// kern::batchnorm_stats_one for every channel, kChannelGroup channels per thread at a time.
void CpuBackend::batchnorm_stats(float* mean, float* var, const float* x, int64_t n, int64_t c, int64_t hw) {
  const float M = static_cast<float>(n * hw);
  each_channel_group(c, [&](int64_t m0, int64_t count) {
    float sums[kChannelGroup], sq[kChannelGroup];
    chunked_reduce_channels(sums, BnChain::sum, x, nullptr, nullptr, nullptr, m0, count, n, c, hw);
    for (int64_t g = 0; g < count; ++g) mean[m0 + g] = sums[g] / M;
    chunked_reduce_channels(sq, BnChain::square, x, nullptr, mean + m0, nullptr, m0, count, n, c, hw);
    for (int64_t g = 0; g < count; ++g) var[m0 + g] = sq[g] / M;
  });
}

void CpuBackend::batchnorm_forward(float* y, const float* x, const float* mean, const float* var,
                                   const float* gamma, const float* beta, float eps, int64_t n, int64_t c,
                                   int64_t hw) {
  const IsaKernels& isa = isa_kernels();
  parallel_each(n * c, std::max<int64_t>(1, 16384 / hw), [&](int64_t plane) {
    const int64_t ch = plane % c;
    isa.bn_apply_plane(y + plane * hw, x + plane * hw, hw, mean[ch], kern::batchnorm_invstd(var[ch], eps),
                       gamma[ch], beta[ch]);
  });
}

void CpuBackend::batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                    const float* mean, const float* var, const float* gamma, float eps,
                                    int64_t n, int64_t c, int64_t hw) {
  // kern::batchnorm_param_grads_one for every channel, kChannelGroup channels per thread at a time.
  each_channel_group(c, [&](int64_t m0, int64_t count) {
    float invstd[kChannelGroup];
    for (int64_t g = 0; g < count; ++g) invstd[g] = kern::batchnorm_invstd(var[m0 + g], eps);
    float sums[2 * kChannelGroup];  // Σ dy (dbeta), then Σ dy·x̂ (dgamma), from one pass over x and dy
    chunked_reduce_channels(sums, BnChain::dbeta_dgamma, x, dy, mean + m0, invstd, m0, count, n, c, hw);
    for (int64_t g = 0; g < count; ++g) dbeta[m0 + g] = sums[g], dgamma[m0 + g] = sums[count + g];
  });
  const float M = static_cast<float>(n * hw);
  const IsaKernels& isa = isa_kernels();
  parallel_each(n * c, std::max<int64_t>(1, 16384 / hw), [&](int64_t plane) {
    const int64_t ch = plane % c;
    const float invstd = kern::batchnorm_invstd(var[ch], eps);
    isa.bn_dx_plane(dx + plane * hw, dy + plane * hw, x + plane * hw, hw, mean[ch], invstd,
                    kern::batchnorm_dx_scale(gamma[ch], invstd, M), M, dgamma[ch], dbeta[ch]);
  });
}

void CpuBackend::batchnorm_update_running(float* running_mean, float* running_var, const float* mean,
                                          const float* var, float momentum, int64_t count, int64_t c) {
  for (int64_t ch = 0; ch < c; ++ch)
    kern::batchnorm_update_running_one(running_mean, running_var, mean, var, momentum, count, ch);
}

}  // namespace prism::cpu
