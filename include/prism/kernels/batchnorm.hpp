// Batch normalisation, reference definition per channel and per element (host and device). x is [N, C, HW];
// the per-channel axis of M = N·HW elements is walked as t = n·HW + i and reduced in the canonical chunks.
#pragma once
#include "prism/kernels/elementwise.hpp"
#include "prism/kernels/reduce.hpp"

namespace prism::kern {

// The terms of the per-channel sums, named so that every implementation (these reference bodies, the CPU's
// interleaved loops, the CUDA chunk kernels) folds exactly the same arithmetic.
template <class T>
PRISM_HD T bn_sum_step(T acc, T v) {  // Σ x, Σ dy
  return acc + v;
}
template <class T>
PRISM_HD T bn_square_step(T acc, T x, T mean) {  // Σ (x − mean)²
  const T d = x - mean;
  return fma_t<T>(d, d, acc);
}
template <class T>
PRISM_HD T bn_dgamma_step(T acc, T dy, T x, T mean, T invstd) {  // Σ dy · x̂
  return fma_t<T>(dy, (x - mean) * invstd, acc);
}

template <class T>
PRISM_HD void batchnorm_stats_one(T* mean, T* var, const T* x, int64_t n, int64_t c, int64_t hw, int64_t ch) {
  const int64_t M = n * hw;
  const T m =
      chunked_reduce_mid<T>(ch, n, c, hw, [&](int64_t i, T acc) { return bn_sum_step(acc, x[i]); }) / T(M);
  const T v =
      chunked_reduce_mid<T>(ch, n, c, hw, [&](int64_t i, T acc) { return bn_square_step(acc, x[i], m); }) /
      T(M);
  mean[ch] = m;
  var[ch] = v;
}

template <class T>
PRISM_HD T batchnorm_invstd(T var, T eps) {
  return T(1) / sqrt_t<T>(var + eps);
}

// The per-element maps with the channel's constants already computed (loops hoist them out of a plane).
template <class T>
PRISM_HD T batchnorm_apply(T x, T mean, T invstd, T gamma, T beta) {
  return fma_t<T>(gamma, (x - mean) * invstd, beta);
}
template <class T>
PRISM_HD T batchnorm_dx(T dy, T x, T mean, T invstd, T k, T M, T dgamma, T dbeta) {
  const T xhat = (x - mean) * invstd;
  return k * fma_t<T>(-xhat, dgamma, M * dy - dbeta);
}
template <class T>
PRISM_HD T batchnorm_dx_scale(T gamma, T invstd, T M) {
  return gamma * invstd / M;
}

// y = fma(gamma, (x − mean)·invstd, beta) for element idx of [N, C, HW].
template <class T>
PRISM_HD T batchnorm_forward_one(const T* x, const T* mean, const T* var, const T* gamma, const T* beta,
                                 T eps, int64_t c, int64_t hw, int64_t idx) {
  const int64_t ch = (idx / hw) % c;
  return batchnorm_apply(x[idx], mean[ch], batchnorm_invstd(var[ch], eps), gamma[ch], beta[ch]);
}

// Per channel: dbeta = Σ dy, dgamma = Σ dy·x̂ (fma chain within chunks).
template <class T>
PRISM_HD void batchnorm_param_grads_one(T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                                        const T* var, T eps, int64_t n, int64_t c, int64_t hw, int64_t ch) {
  const T invstd = batchnorm_invstd(var[ch], eps), m = mean[ch];
  dbeta[ch] = chunked_reduce_mid<T>(ch, n, c, hw, [&](int64_t i, T acc) { return bn_sum_step(acc, dy[i]); });
  dgamma[ch] = chunked_reduce_mid<T>(
      ch, n, c, hw, [&](int64_t i, T acc) { return bn_dgamma_step(acc, dy[i], x[i], m, invstd); });
}

// dx = (gamma·invstd / M) · fma(−x̂, dgamma, M·dy − dbeta), given the channel's dgamma and dbeta.
template <class T>
PRISM_HD T batchnorm_dx_one(const T* dy, const T* x, const T* mean, const T* var, const T* gamma,
                            const T* dgamma, const T* dbeta, T eps, int64_t n, int64_t c, int64_t hw,
                            int64_t idx) {
  const int64_t ch = (idx / hw) % c;
  const T M = T(n * hw);
  const T invstd = batchnorm_invstd(var[ch], eps);
  return batchnorm_dx(dy[idx], x[idx], mean[ch], invstd, batchnorm_dx_scale(gamma[ch], invstd, M), M,
                      dgamma[ch], dbeta[ch]);
}

template <class T>
PRISM_HD void batchnorm_update_running_one(T* running_mean, T* running_var, const T* mean, const T* var,
                                           T momentum, int64_t count, int64_t ch) {
  const T keep = T(1) - momentum;
  const T unbias = count > 1 ? T(count) / T(count - 1) : T(1);
  running_mean[ch] = fma_t<T>(momentum, mean[ch], keep * running_mean[ch]);
  running_var[ch] = fma_t<T>(momentum, var[ch] * unbias, keep * running_var[ch]);
}

}  // namespace prism::kern
