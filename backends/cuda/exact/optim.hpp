// Exact-mode optimizer updates of the CUDA backend: one thread per parameter element, calling the reference
// bodies of kernels/optim.hpp (the hyper-parameters, bias corrections included, arrive computed on the host).
// Host and device.
#pragma once
#include "cuda/exact/launch.hpp"
#include "prism/kernels/optim.hpp"

namespace prism::cuda::exact {

struct SgdStep {
  float* param;
  float* buf;
  const float* grad;
  SgdParams p;
  PRISM_HD void operator()(int64_t i) const { kern::sgd_one(param, buf, grad, p, i); }
};

struct AdamStep {
  float* param;
  float* m;
  float* v;
  const float* grad;
  AdamParams p;
  PRISM_HD void operator()(int64_t i) const { kern::adam_one(param, m, v, grad, p, i); }
};

template <class L>
void sgd_update(L& launch, float* param, float* momentum_buf, const float* grad, int64_t n,
                const SgdParams& p) {
  launch.each(n, SgdStep{param, momentum_buf, grad, p}, "sgd_update");
}

template <class L>
void adam_update(L& launch, float* param, float* m, float* v, const float* grad, int64_t n,
                 const AdamParams& p) {
  launch.each(n, AdamStep{param, m, v, grad, p}, "adam_update");
}

}  // namespace prism::cuda::exact
