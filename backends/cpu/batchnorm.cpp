// CPU batch norm (fast path): the arithmetic of kernels/batchnorm.hpp, walked plane by plane with each
// channel's constants (invstd, the dx scale) computed once — the same expressions as the per-element bodies,
// so bit-identical to them; the per-element loops are the ISA variant's (isa.hpp), so a portable build gets
// the CPU's fma inline instead of a libm call per element. Statistics and parameter gradients run in
// parallel over channels (a channel's chunked sums stay in one thread). Fast mode uses the same kernels.
#include "prism/kernels/batchnorm.hpp"
#include <algorithm>

#include "cpu/cpu_backend.hpp"
#include "cpu/isa.hpp"
#include "cpu/parallel.hpp"

namespace prism::cpu {

namespace {

constexpr int64_t kGroup = 16;  // channels reduced together by one thread (two register groups of 8)

// For channels m0 .. m0+count−1 (count ≤ kGroup) of an [outer, mid, inner] array: out[g] = the canonical
// chunked reduction kern::chunked_reduce_mid of channel m0+g with the BnChain step `op`. The channels' chains
// are interleaved element by element (the ISA's bn_chains, one contiguous run of a chunk at a time), so one
// thread keeps kGroup independent additions in flight instead of waiting on one chain's latency; each chain
// still performs exactly its reference additions in its reference order.
// BnChain::dbeta_dgamma reduces two chains per channel from one pass: out[g] (Σ dy) and out[count + g] (Σ dy·x̂).
void chunked_reduce_channels(float* out, BnChain op, const float* x, const float* dy, const float* mean,
                             const float* invstd, int64_t m0, int64_t count, int64_t outer, int64_t mid,
                             int64_t inner) {
  const IsaKernels& isa = isa_kernels();
  const int64_t n = outer * inner, chains = op == BnChain::dbeta_dgamma ? 2 * count : count;
  float total[2 * kGroup] = {}, part[2 * kGroup];
  for (int64_t c0 = 0; c0 < n; c0 += kern::kReduceChunk) {
    const int64_t c1 = std::min(n, c0 + kern::kReduceChunk);
    for (int64_t g = 0; g < chains; ++g) part[g] = 0.0f;
    for (int64_t t = c0; t < c1;) {  // the chunk's runs inside one plane
      const int64_t o = t / inner, i = t % inner, len = std::min(c1 - t, inner - i);
      const int64_t base = (o * mid + m0) * inner + i;
      isa.bn_chains(op, part, x + base, dy ? dy + base : nullptr, inner, len, mean, invstd, count);
      t += len;
    }
    for (int64_t g = 0; g < chains; ++g) total[g] = c0 == 0 ? part[g] : total[g] + part[g];
  }
  for (int64_t g = 0; g < chains; ++g) out[g] = total[g];
}

// Runs f(m0, count) over channel groups in parallel.
template <class F>
void each_channel_group(int64_t c, F&& f) {
  parallel_each((c + kGroup - 1) / kGroup, 1, [&](int64_t grp) {
    const int64_t m0 = grp * kGroup;
    f(m0, std::min(kGroup, c - m0));
  });
}

}  // namespace

// kern::batchnorm_stats_one for every channel, kGroup channels per thread at a time.
void CpuBackend::batchnorm_stats(float* mean, float* var, const float* x, int64_t n, int64_t c, int64_t hw) {
  const float M = static_cast<float>(n * hw);
  each_channel_group(c, [&](int64_t m0, int64_t count) {
    float sums[kGroup], sq[kGroup];
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
  // kern::batchnorm_param_grads_one for every channel, kGroup channels per thread at a time.
  each_channel_group(c, [&](int64_t m0, int64_t count) {
    float invstd[kGroup];
    for (int64_t g = 0; g < count; ++g) invstd[g] = kern::batchnorm_invstd(var[m0 + g], eps);
    float sums[2 * kGroup];  // Σ dy (dbeta), then Σ dy·x̂ (dgamma), from one pass over x and dy
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
