// Exact-mode batch norm of the CUDA backend. The per-channel sums (statistics, parameter gradients) run
// chunk-parallel: one thread per (channel, canonical chunk) folds its chunk with kern::mid_chunk_partial,
// then one thread per channel adds the partials in order — the order of kern::batchnorm_stats_one /
// batchnorm_param_grads_one, folding the same named terms (kern::bn_sum_step, bn_square_step,
// bn_dgamma_step). The elementwise maps call the reference bodies directly. Host and device;
// tests/test_cuda_emulator.cpp checks every bit against the CPU.
#pragma once
#include "cuda/exact/reduce.hpp"
#include "prism/kernels/batchnorm.hpp"

namespace prism::cuda::exact {

// Chunk partials of Σ x (pass 0) or Σ (x − mean)² (pass 1) per channel, as in kern::batchnorm_stats_one.
struct BnStatPartials {
  float* parts;
  const float* x;
  const float* mean;  // read by pass 1
  int64_t c, hw, len, chunks;
  int pass;
  PRISM_HD void operator()(int64_t idx) const {
    const int64_t ch = idx / chunks, k = idx % chunks;
    const int64_t t0 = k * kern::kReduceChunk, t1 = chunk_end(k, len);
    if (pass == 0) {
      parts[idx] = kern::mid_chunk_partial<float>(
          t0, t1, ch, c, hw, [&](int64_t i, float acc) { return kern::bn_sum_step(acc, x[i]); });
    } else {
      const float m = mean[ch];
      parts[idx] = kern::mid_chunk_partial<float>(
          t0, t1, ch, c, hw, [&](int64_t i, float acc) { return kern::bn_square_step(acc, x[i], m); });
    }
  }
};

// stat[ch] = (partials added in order) / M.
struct BnStatFinish {
  float* stat;
  const float* parts;
  int64_t chunks, len;
  PRISM_HD void operator()(int64_t ch) const {
    stat[ch] = add_partials_in_order(parts + ch * chunks, chunks, 1) / float(len);
  }
};

struct BnForward {
  float* y;
  const float* x;
  const float* mean;
  const float* var;
  const float* gamma;
  const float* beta;
  float eps;
  int64_t c, hw;
  PRISM_HD void operator()(int64_t i) const {
    y[i] = kern::batchnorm_forward_one(x, mean, var, gamma, beta, eps, c, hw, i);
  }
};

// Chunk partials of dbeta = Σ dy and dgamma = Σ dy·x̂, as in kern::batchnorm_param_grads_one.
struct BnGradPartials {
  float* parts_beta;
  float* parts_gamma;
  const float* dy;
  const float* x;
  const float* mean;
  const float* var;
  float eps;
  int64_t c, hw, len, chunks;
  PRISM_HD void operator()(int64_t idx) const {
    const int64_t ch = idx / chunks, k = idx % chunks;
    const int64_t t0 = k * kern::kReduceChunk, t1 = chunk_end(k, len);
    const float invstd = kern::batchnorm_invstd(var[ch], eps), m = mean[ch];
    parts_beta[idx] = kern::mid_chunk_partial<float>(
        t0, t1, ch, c, hw, [&](int64_t i, float acc) { return kern::bn_sum_step(acc, dy[i]); });
    parts_gamma[idx] = kern::mid_chunk_partial<float>(t0, t1, ch, c, hw, [&](int64_t i, float acc) {
      return kern::bn_dgamma_step(acc, dy[i], x[i], m, invstd);
    });
  }
};

struct BnGradFinish {
  float* dgamma;
  float* dbeta;
  const float* parts_gamma;
  const float* parts_beta;
  int64_t chunks;
  PRISM_HD void operator()(int64_t ch) const {
    dbeta[ch] = add_partials_in_order(parts_beta + ch * chunks, chunks, 1);
    dgamma[ch] = add_partials_in_order(parts_gamma + ch * chunks, chunks, 1);
  }
};

struct BnDx {
  float* dx;
  const float* dy;
  const float* x;
  const float* mean;
  const float* var;
  const float* gamma;
  const float* dgamma;
  const float* dbeta;
  float eps;
  int64_t n, c, hw;
  PRISM_HD void operator()(int64_t i) const {
    dx[i] = kern::batchnorm_dx_one(dy, x, mean, var, gamma, dgamma, dbeta, eps, n, c, hw, i);
  }
};

struct BnUpdateRunning {
  float* running_mean;
  float* running_var;
  const float* mean;
  const float* var;
  float momentum;
  int64_t count;
  PRISM_HD void operator()(int64_t ch) const {
    kern::batchnorm_update_running_one(running_mean, running_var, mean, var, momentum, count, ch);
  }
};

template <class L>
void batchnorm_stats(L& launch, float* mean, float* var, const float* x, int64_t n, int64_t c, int64_t hw) {
  const int64_t len = n * hw,
                chunks = ceil_div(len, kern::kReduceChunk) > 0 ? ceil_div(len, kern::kReduceChunk) : 1;
  auto parts = launch.scratch(c * chunks);
  launch.each(c * chunks, BnStatPartials{parts.data(), x, mean, c, hw, len, chunks, 0},
              "batchnorm_stats (sum)");
  launch.each(c, BnStatFinish{mean, parts.data(), chunks, len}, "batchnorm_stats (mean)");
  launch.each(c * chunks, BnStatPartials{parts.data(), x, mean, c, hw, len, chunks, 1},
              "batchnorm_stats (sq dev)");
  launch.each(c, BnStatFinish{var, parts.data(), chunks, len}, "batchnorm_stats (var)");
}

template <class L>
void batchnorm_forward(L& launch, float* y, const float* x, const float* mean, const float* var,
                       const float* gamma, const float* beta, float eps, int64_t n, int64_t c, int64_t hw) {
  launch.each(n * c * hw, BnForward{y, x, mean, var, gamma, beta, eps, c, hw}, "batchnorm_forward");
}

template <class L>
void batchnorm_backward(L& launch, float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                        const float* mean, const float* var, const float* gamma, float eps, int64_t n,
                        int64_t c, int64_t hw) {
  const int64_t len = n * hw,
                chunks = ceil_div(len, kern::kReduceChunk) > 0 ? ceil_div(len, kern::kReduceChunk) : 1;
  auto parts = launch.scratch(2 * c * chunks);
  float* parts_beta = parts.data();
  float* parts_gamma = parts.data() + c * chunks;
  launch.each(c * chunks, BnGradPartials{parts_beta, parts_gamma, dy, x, mean, var, eps, c, hw, len, chunks},
              "batchnorm_backward (partials)");
  launch.each(c, BnGradFinish{dgamma, dbeta, parts_gamma, parts_beta, chunks},
              "batchnorm_backward (dgamma, dbeta)");
  launch.each(n * c * hw, BnDx{dx, dy, x, mean, var, gamma, dgamma, dbeta, eps, n, c, hw},
              "batchnorm_backward (dx)");
}

template <class L>
void batchnorm_update_running(L& launch, float* running_mean, float* running_var, const float* mean,
                              const float* var, float momentum, int64_t count, int64_t c) {
  launch.each(c, BnUpdateRunning{running_mean, running_var, mean, var, momentum, count},
              "batchnorm_update_running");
}

}  // namespace prism::cuda::exact
