// Optimizer base: parameter list, learning rate, zero_grad, gradient checks (reference code).
#include <cmath>

#include "prism/core/runtime.hpp"
#include "prism/nn/optim.hpp"

namespace prism::nn {

Optimizer::Optimizer(NamedTensors params, double lr, const char* kind)
    : params_(std::move(params)), lr_(lr), kind_(kind) {
  if (params_.empty()) throw Error(std::string(kind_) + ": no parameters to optimise");
  for (auto& [name, t] : params_)
    if (!t.defined() || t.dtype() != DType::f32)
      throw Error(std::string(kind_) + ": parameter '" + name + "' must be a defined f32 tensor");
  set_lr(lr);
  lr_multipliers_.assign(params_.size(), 1.0);
}

void Optimizer::set_lr_multiplier(size_t k, double multiplier) {
  if (k >= params_.size())
    throw Error(std::string(kind_) + ": no parameter " + std::to_string(k) + " (" +
                std::to_string(params_.size()) + " parameters)");
  if (!std::isfinite(multiplier) || multiplier < 0.0)
    throw Error(std::string(kind_) + ": lr multiplier of '" + params_[k].first +
                "' must be finite and >= 0, got " + std::to_string(multiplier));
  lr_multipliers_[k] = multiplier;
}

void Optimizer::set_lr(double lr) {
  if (!std::isfinite(lr) || lr < 0.0)
    throw Error(std::string(kind_) + ": lr must be finite and >= 0, got " + std::to_string(lr));
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.second.zero_grad();
}

Tensor Optimizer::grad_of(size_t k) const {
  const auto& [name, p] = params_[k];
  Tensor g = p.grad();
  if (!g.defined()) return g;
  if (g.shape() != p.shape() || g.device() != p.device() || g.dtype() != DType::f32)
    throw Error(std::string(kind_) + ": gradient of '" + name + "' is " + g.describe() + ", parameter is " +
                p.describe());
  return g;
}

}  // namespace prism::nn
