// CPU batch norm: the arithmetic of kernels/batchnorm.hpp, walked plane by plane with each channel's
// constants (invstd, the dx scale) computed once — the same expressions as the per-element bodies, so
// bit-identical to them. Statistics and parameter gradients run in parallel over channels (a channel's
// chunked sums stay in one thread). Fast mode uses the same kernels: they are memory-bound and already
// vectorisable.
#include "prism/kernels/batchnorm.hpp"
#include <algorithm>

#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace prism::cpu {

namespace {

constexpr int64_t kGroup = 8;  // channels reduced together by one thread

// For channels m0 .. m0+count−1 (count ≤ kGroup) of an [outer, mid, inner] array: out[g] = the canonical
// chunked reduction kern::chunked_reduce_mid of channel m0+g with step(g, element_index, acc). The channels'
// chains are interleaved element by element, so one thread keeps kGroup independent additions in flight
// instead of waiting on one chain's latency; each chain still performs exactly its reference additions in its
// reference order.
template <class Step>
void chunked_reduce_channels(float* out, int64_t m0, int64_t count, int64_t outer, int64_t mid, int64_t inner,
                             Step step) {
  const int64_t n = outer * inner;
  float total[kGroup] = {}, part[kGroup];
  for (int64_t c0 = 0; c0 < n; c0 += kern::kReduceChunk) {
    const int64_t c1 = std::min(n, c0 + kern::kReduceChunk);
    for (int64_t g = 0; g < count; ++g) part[g] = 0.0f;
    int64_t o = c0 / inner, i = c0 % inner;
    for (int64_t t = c0; t < c1; ++t) {
      const int64_t base = (o * mid + m0) * inner + i;
      for (int64_t g = 0; g < count; ++g) part[g] = step(g, base + g * inner, part[g]);
      if (++i == inner) i = 0, ++o;
    }
    for (int64_t g = 0; g < count; ++g) total[g] = c0 == 0 ? part[g] : total[g] + part[g];
  }
  for (int64_t g = 0; g < count; ++g) out[g] = total[g];
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
    chunked_reduce_channels(sums, m0, count, n, c, hw,
                            [&](int64_t, int64_t idx, float acc) { return kern::bn_sum_step(acc, x[idx]); });
    for (int64_t g = 0; g < count; ++g) mean[m0 + g] = sums[g] / M;
    const float* m = mean + m0;
    chunked_reduce_channels(sq, m0, count, n, c, hw, [&](int64_t g, int64_t idx, float acc) {
      return kern::bn_square_step(acc, x[idx], m[g]);
    });
    for (int64_t g = 0; g < count; ++g) var[m0 + g] = sq[g] / M;
  });
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
  // kern::batchnorm_param_grads_one for every channel, kGroup channels per thread at a time.
  each_channel_group(c, [&](int64_t m0, int64_t count) {
    float m[kGroup], invstd[kGroup];
    for (int64_t g = 0; g < count; ++g)
      m[g] = mean[m0 + g], invstd[g] = kern::batchnorm_invstd(var[m0 + g], eps);
    chunked_reduce_channels(dbeta + m0, m0, count, n, c, hw,
                            [&](int64_t, int64_t idx, float acc) { return kern::bn_sum_step(acc, dy[idx]); });
    chunked_reduce_channels(dgamma + m0, m0, count, n, c, hw, [&](int64_t g, int64_t idx, float acc) {
      return kern::bn_dgamma_step(acc, dy[idx], x[idx], m[g], invstd[g]);
    });
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
