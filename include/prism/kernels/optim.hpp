// Optimizer updates, reference definition of one parameter element (host and device), torch.optim semantics
// (weight decay added to the gradient). The multiply-adds the update formulas name are fused.
#pragma once
#include <cmath>

#include "prism/kernels/elementwise.hpp"
#include "prism/kernels/params.hpp"

namespace prism::kern {

// Host: the kernel's parameters for step t ≥ 1 from double hyper-parameters (torch passes Python floats); the
// bias corrections and 1 − β are computed in double and rounded to float once.
inline AdamParams adam_params(double lr, double beta1, double beta2, double eps, double weight_decay,
                              int64_t t) {
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(t));
  return AdamParams{static_cast<float>(lr),
                    static_cast<float>(beta1),
                    static_cast<float>(beta2),
                    static_cast<float>(eps),
                    static_cast<float>(weight_decay),
                    static_cast<float>(lr / bc1),
                    static_cast<float>(std::sqrt(bc2)),
                    static_cast<float>(1.0 - beta1),
                    static_cast<float>(1.0 - beta2)};
}

// g = grad + wd·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= step_size · m / (sqrt(v)/sqrt(1−β2^t) +
// eps).
PRISM_HD void adam_one(float* param, float* m, float* v, const float* grad, const AdamParams& p, int64_t i) {
  const float g = fmaf_hd(p.weight_decay, param[i], grad[i]);
  const float mi = fmaf_hd(p.one_minus_beta1, g, p.beta1 * m[i]);
  const float vi = fmaf_hd(p.one_minus_beta2, g * g, p.beta2 * v[i]);
  const float denom = sqrt_t<float>(vi) / p.bias_correction2_sqrt + p.eps;
  m[i] = mi;
  v[i] = vi;
  param[i] = fmaf_hd(-p.step_size, mi / denom, param[i]);
}

// d = grad + wd·p; buf = first ? d : momentum·buf + (1−dampening)·d; d = nesterov ? d + momentum·buf : buf;
// p −= lr·d. With momentum 0 the buffer is not touched (it may be null).
PRISM_HD void sgd_one(float* param, float* buf, const float* grad, const SgdParams& p, int64_t i) {
  float d = fmaf_hd(p.weight_decay, param[i], grad[i]);
  if (p.momentum != 0.0f) {
    const float b = p.first_step ? d : fmaf_hd(p.momentum, buf[i], (1.0f - p.dampening) * d);
    buf[i] = b;
    d = p.nesterov ? fmaf_hd(p.momentum, b, d) : b;
  }
  param[i] = fmaf_hd(-p.lr, d, param[i]);
}

}  // namespace prism::kern
