// The layers of the reference nets, each a thin Module around one differentiable op of core/ops.hpp
// (reference wiring; the op's kernels decide exact vs fast). Parameter layouts and defaults follow torch.nn,
// so weights map one to one: Linear w[out, in], b[out]; Conv2d w[Co, Ci, KH, KW], b[Co]; BatchNorm
// weight/bias/running_mean/var.
#pragma once
#include "prism/nn/module.hpp"

namespace prism::nn {

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string repr() const override;
  Tensor weight, bias;  // bias undefined when built without one
  const int64_t in_features, out_features;
};

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1, int64_t pad = 0,
         bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string repr() const override;
  Tensor weight, bias;
  const int64_t in_channels, out_channels, kernel, stride, pad;
};

// Batch norm over axis 1 of [N, C] (1d) or [N, C, H, W] (2d), torch semantics: training normalises with the
// batch statistics (biased variance) and updates running_mean/running_var with `momentum`, the variance made
// unbiased; eval uses the running statistics. Eval is for inference: run it under NoGradGuard or on inputs
// that need no gradient (its output then carries no gradient to weight/bias); a gradient through eval-mode
// batch norm is an error.
class BatchNorm : public Module {
 public:
  explicit BatchNorm(int64_t channels, float momentum = 0.1f, float eps = 1e-5f);
  Tensor forward(const Tensor& x) override;
  std::string repr() const override;
  Tensor weight, bias, running_mean, running_var;
  const int64_t channels;
  const float momentum, eps;
  // Fine-tuning (MODEL.FREEZE_BN_STATS / MODEL.FREEZE_BN_AFFINE). With frozen statistics, training mode
  // normalises with the running statistics and leaves them unchanged — torch's `bn.eval()` inside a training
  // model — and the gradient still flows to the input (and to weight/bias unless the affine part is frozen
  // too): y = (x·invstd + (−mean·invstd))·weight + bias with invstd = 1/sqrt(var + eps) computed on the host
  // (IEEE float, the same bits on every device), composed of the differentiable broadcast mul/add. Frozen
  // affine parameters enter as constants (y = x·s + t, s = weight·invstd, t = bias − mean·s) and get no
  // gradient.
  bool freeze_stats = false, freeze_affine = false;

 private:
  Tensor frozen_forward(const Tensor& x);
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string repr() const override { return "ReLU"; }
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int64_t kernel, int64_t stride = 0,
                     int64_t pad = 0);  // stride 0 = kernel (torch default)
  Tensor forward(const Tensor& x) override;
  std::string repr() const override;
  const int64_t kernel, stride, pad;
};

// [N, C, H, W] → [N, C], the mean over H·W.
class GlobalAvgPool : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string repr() const override { return "GlobalAvgPool"; }
};

// Rows scaled to unit L2 norm (torch F.normalize(x, dim=1), eps = 1e-12).
class L2Normalize : public Module {
 public:
  explicit L2Normalize(float eps = 1e-12f) : eps(eps) {}
  Tensor forward(const Tensor& x) override;
  std::string repr() const override { return "L2Normalize"; }
  const float eps;
};

}  // namespace prism::nn
