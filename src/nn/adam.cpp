// Adam with L2 weight decay added to the gradient (torch.optim.Adam, amsgrad off); the update is the backend
// kernel adam_update (kernels/optim.hpp), the bias corrections are host doubles. Reference wiring.
#include <cmath>
#include <set>

#include "prism/core/autograd.hpp"
#include "prism/core/runtime.hpp"
#include "prism/kernels/optim.hpp"
#include "prism/nn/optim.hpp"

namespace prism::nn {

Adam::Adam(NamedTensors params, const AdamOptions& o)
    : Optimizer(std::move(params), o.lr, "Adam"), options_(o) {
  auto in_unit = [](double b) { return std::isfinite(b) && b >= 0.0 && b < 1.0; };
  if (!in_unit(o.beta1) || !in_unit(o.beta2))
    throw Error("Adam: betas must be in [0, 1), got " + std::to_string(o.beta1) + ", " +
                std::to_string(o.beta2));
  if (!std::isfinite(o.eps) || o.eps < 0.0)
    throw Error("Adam: eps must be >= 0, got " + std::to_string(o.eps));
  if (!std::isfinite(o.weight_decay) || o.weight_decay < 0.0)
    throw Error("Adam: weight_decay must be >= 0, got " + std::to_string(o.weight_decay));
  exp_avg_.resize(params_.size());
  exp_avg_sq_.resize(params_.size());
  steps_.assign(params_.size(), 0);
}

void Adam::step() {
  NoGradGuard no_grad;
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor g = grad_of(k);
    if (!g.defined()) continue;
    Tensor& p = params_[k].second;
    if (steps_[k] == 0) {
      exp_avg_[k] = Tensor::zeros(p.shape(), DType::f32, p.device());
      exp_avg_sq_[k] = Tensor::zeros(p.shape(), DType::f32, p.device());
    }
    const int64_t t = ++steps_[k];
    const AdamParams ap =
        kern::adam_params(lr_of(k), options_.beta1, options_.beta2, options_.eps, options_.weight_decay, t);
    p.backend_for(Op::adam_update)
        .adam_update(p.data_f32(), exp_avg_[k].data_f32(), exp_avg_sq_[k].data_f32(), g.data_f32(), p.numel(),
                     ap);
  }
}

OptimizerState Adam::state() const {
  OptimizerState s;
  for (size_t k = 0; k < params_.size(); ++k) {
    const std::string& name = params_[k].first;
    s.scalars[name + ".step"] = static_cast<double>(steps_[k]);
    if (steps_[k] > 0) {
      s.tensors[name + ".exp_avg"] = exp_avg_[k].clone();
      s.tensors[name + ".exp_avg_sq"] = exp_avg_sq_[k].clone();
    }
  }
  return s;
}

void Adam::load_state(const OptimizerState& s) {
  // Validate everything first, so a bad checkpoint leaves the optimizer as it was.
  std::set<std::string> known_t, known_s;
  std::vector<int64_t> steps(params_.size());
  for (size_t k = 0; k < params_.size(); ++k) {
    const auto& [name, p] = params_[k];
    const std::string step_key = name + ".step";
    known_s.insert(step_key);
    auto st = s.scalars.find(step_key);
    if (st == s.scalars.end()) throw Error("Adam::load_state: missing scalar '" + step_key + "'");
    const double v = st->second;
    if (!(v >= 0.0 && v < 9.0e15 && v == std::floor(v)))
      throw Error("Adam::load_state: '" + step_key + "' must be a whole number >= 0, got " +
                  std::to_string(v));
    steps[k] = static_cast<int64_t>(v);
    for (const char* slot : {".exp_avg", ".exp_avg_sq"}) {
      const std::string key = name + slot;
      known_t.insert(key);
      auto it = s.tensors.find(key);
      if (steps[k] == 0) continue;  // a fresh parameter may carry no moments
      if (it == s.tensors.end())
        throw Error("Adam::load_state: missing entry '" + key + "' (step " + std::to_string(steps[k]) + ")");
      if (!it->second.defined() || it->second.shape() != p.shape() || it->second.dtype() != DType::f32)
        throw Error("Adam::load_state: '" + key + "' is " +
                    (it->second.defined() ? it->second.describe() : std::string("undefined")) +
                    ", expected " + p.describe());
    }
  }
  for (auto& [key, t] : s.tensors)
    if (!known_t.count(key))
      throw Error("Adam::load_state: unexpected entry '" + key + "' (" + t.describe() + ")");
  for (auto& [key, v] : s.scalars)
    if (!known_s.count(key)) throw Error("Adam::load_state: unexpected scalar '" + key + "'");
  for (size_t k = 0; k < params_.size(); ++k) {
    const auto& [name, p] = params_[k];
    steps_[k] = steps[k];
    if (steps[k] == 0) {
      exp_avg_[k] = exp_avg_sq_[k] = Tensor();
      continue;
    }
    exp_avg_[k] = s.tensors.at(name + ".exp_avg").to(p.device()).clone();
    exp_avg_sq_[k] = s.tensors.at(name + ".exp_avg_sq").to(p.device()).clone();
  }
}

}  // namespace prism::nn
