// Layers: Linear, Conv2d, BatchNorm, ReLU, MaxPool2d, GlobalAvgPool, L2Normalize (reference wiring of core
// ops). Parameters are created as zeros on the CPU; init_parameters (init.cpp) gives them their values.
#include "prism/nn/layers.hpp"

#include <cmath>

#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"

namespace prism::nn {

namespace {
void require_positive(int64_t v, const char* layer, const char* what) {
  if (v <= 0) throw Error(std::string(layer) + ": " + what + " must be positive, got " + std::to_string(v));
}
const char* yes_no(bool b) {
  return b ? "true" : "false";
}
}  // namespace

// ---- Linear -----------------------------------------------------------------------------------------------

Linear::Linear(int64_t in, int64_t out, bool with_bias) : in_features(in), out_features(out) {
  require_positive(in, "Linear", "in_features");
  require_positive(out, "Linear", "out_features");
  weight = register_parameter("weight", Tensor::zeros({out, in}), Init::he_uniform);
  if (with_bias) bias = register_parameter("bias", Tensor::zeros({out}), Init::zeros);
}

Tensor Linear::forward(const Tensor& x) {
  if (x.dim() != 2 || x.size(1) != in_features)
    throw Error("Linear(" + std::to_string(in_features) + "→" + std::to_string(out_features) +
                "): input must be [N, " + std::to_string(in_features) + "], got " + x.describe());
  return linear(x, weight, bias);
}

std::string Linear::repr() const {
  return "Linear(" + std::to_string(in_features) + "→" + std::to_string(out_features) +
         ", bias=" + yes_no(bias.defined()) + ")";
}

// ---- Conv2d -----------------------------------------------------------------------------------------------

Conv2d::Conv2d(int64_t ci, int64_t co, int64_t k, int64_t s, int64_t p, bool with_bias)
    : in_channels(ci), out_channels(co), kernel(k), stride(s), pad(p) {
  require_positive(ci, "Conv2d", "in_channels");
  require_positive(co, "Conv2d", "out_channels");
  require_positive(k, "Conv2d", "kernel");
  require_positive(s, "Conv2d", "stride");
  if (p < 0) throw Error("Conv2d: pad must be >= 0, got " + std::to_string(p));
  weight = register_parameter("weight", Tensor::zeros({co, ci, k, k}), Init::he_uniform);
  if (with_bias) bias = register_parameter("bias", Tensor::zeros({co}), Init::zeros);
}

Tensor Conv2d::forward(const Tensor& x) {
  if (x.dim() != 4 || x.size(1) != in_channels)
    throw Error(repr() + ": input must be [N, " + std::to_string(in_channels) + ", H, W], got " +
                x.describe());
  return conv2d(x, weight, bias, stride, pad);
}

std::string Conv2d::repr() const {
  return "Conv2d(" + std::to_string(in_channels) + "→" + std::to_string(out_channels) +
         ", k=" + std::to_string(kernel) + ", s=" + std::to_string(stride) + ", p=" + std::to_string(pad) +
         ", bias=" + yes_no(bias.defined()) + ")";
}

// ---- BatchNorm --------------------------------------------------------------------------------------------

BatchNorm::BatchNorm(int64_t c, float m, float e) : channels(c), momentum(m), eps(e) {
  require_positive(c, "BatchNorm", "channels");
  if (!(m >= 0.0f && m <= 1.0f))
    throw Error("BatchNorm: momentum must be in [0, 1], got " + std::to_string(m));
  if (!(e > 0.0f)) throw Error("BatchNorm: eps must be > 0, got " + std::to_string(e));
  weight = register_parameter("weight", Tensor::full({c}, 1.0f), Init::ones);
  bias = register_parameter("bias", Tensor::zeros({c}), Init::zeros);
  running_mean = register_buffer("running_mean", Tensor::zeros({c}));
  running_var = register_buffer("running_var", Tensor::full({c}, 1.0f));
}

Tensor BatchNorm::forward(const Tensor& x) {
  if ((x.dim() != 2 && x.dim() != 4) || x.size(1) != channels)
    throw Error(repr() + ": input must be [N, " + std::to_string(channels) + "] or [N, " +
                std::to_string(channels) + ", H, W], got " + x.describe());
  if (is_training() && freeze_stats) return frozen_forward(x);
  if (is_training()) return batch_norm(x, weight, bias, running_mean, running_var, true, momentum, eps);
  if (grad_enabled() && x.requires_grad())
    throw Error(repr() +
                ": a gradient through eval-mode batch norm is not supported; call train() or run the "
                "forward under NoGradGuard");
  NoGradGuard inference;  // weight/bias require grad, but eval outputs are for inference only
  return batch_norm(x, weight, bias, running_mean, running_var, false, momentum, eps);
}

Tensor BatchNorm::frozen_forward(const Tensor& x) {
  const std::vector<float> mean = running_mean.to_vector(), var = running_var.to_vector();
  std::vector<float> invstd(static_cast<size_t>(channels)), shift(invstd.size());
  for (size_t c = 0; c < invstd.size(); ++c) {
    invstd[c] = 1.0f / std::sqrt(var[c] + eps);
    shift[c] = -mean[c] * invstd[c];
  }
  const DeviceType dev = x.device();
  if (freeze_affine) {
    const std::vector<float> g = weight.to_vector(), b = bias.to_vector();
    std::vector<float> s(invstd.size()), t(invstd.size());
    for (size_t c = 0; c < s.size(); ++c) {
      s[c] = g[c] * invstd[c];
      t[c] = b[c] - mean[c] * s[c];
    }
    return add(mul(x, Tensor::from_vector({channels}, s, dev)), Tensor::from_vector({channels}, t, dev));
  }
  const Tensor xhat =
      add(mul(x, Tensor::from_vector({channels}, invstd, dev)), Tensor::from_vector({channels}, shift, dev));
  return add(mul(xhat, weight), bias);
}

std::string BatchNorm::repr() const {
  return "BatchNorm(" + std::to_string(channels) + ", momentum=" + std::to_string(momentum) +
         ", eps=" + std::to_string(eps) + ")";
}

// ---- parameter-free layers --------------------------------------------------------------------------------

Tensor ReLU::forward(const Tensor& x) {
  return relu(x);
}

MaxPool2d::MaxPool2d(int64_t k, int64_t s, int64_t p) : kernel(k), stride(s == 0 ? k : s), pad(p) {
  require_positive(k, "MaxPool2d", "kernel");
  require_positive(stride, "MaxPool2d", "stride");
}

Tensor MaxPool2d::forward(const Tensor& x) {
  return max_pool2d(x, kernel, stride, pad);
}

std::string MaxPool2d::repr() const {
  return "MaxPool2d(k=" + std::to_string(kernel) + ", s=" + std::to_string(stride) +
         ", p=" + std::to_string(pad) + ")";
}

Tensor GlobalAvgPool::forward(const Tensor& x) {
  return global_avg_pool(x);
}

Tensor L2Normalize::forward(const Tensor& x) {
  return l2_normalize(x, eps);
}

}  // namespace prism::nn
