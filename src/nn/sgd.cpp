// SGD with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD); the update is the backend
// kernel sgd_update (kernels/optim.hpp). Reference wiring.
#include <cmath>
#include <set>

#include "prism/core/autograd.hpp"
#include "prism/core/runtime.hpp"
#include "prism/nn/optim.hpp"

namespace prism::nn {

namespace {
void check_option(double v, const char* name) {
  if (!std::isfinite(v) || v < 0.0)
    throw Error(std::string("Sgd: ") + name + " must be finite and >= 0, got " + std::to_string(v));
}
}  // namespace

Sgd::Sgd(NamedTensors params, const SgdOptions& o) : Optimizer(std::move(params), o.lr, "Sgd"), options_(o) {
  check_option(o.momentum, "momentum");
  check_option(o.dampening, "dampening");
  check_option(o.weight_decay, "weight_decay");
  if (o.nesterov && (o.momentum <= 0.0 || o.dampening != 0.0))
    throw Error("Sgd: nesterov needs momentum > 0 and dampening = 0, got momentum " +
                std::to_string(o.momentum) + ", dampening " + std::to_string(o.dampening));
  buffers_.resize(params_.size());
}

void Sgd::step() {
  NoGradGuard no_grad;
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor g = grad_of(k);
    if (!g.defined()) continue;
    Tensor& p = params_[k].second;
    SgdParams sp{static_cast<float>(lr_of(k)),
                 static_cast<float>(options_.momentum),
                 static_cast<float>(options_.dampening),
                 static_cast<float>(options_.weight_decay),
                 options_.nesterov,
                 false};
    float* buf = nullptr;
    if (options_.momentum != 0.0) {
      sp.first_step = !buffers_[k].defined();
      if (sp.first_step) buffers_[k] = Tensor::empty(p.shape(), DType::f32, p.device());
      buf = buffers_[k].data_f32();
    }
    p.backend_for(Op::sgd_update).sgd_update(p.data_f32(), buf, g.data_f32(), p.numel(), sp);
  }
}

OptimizerState Sgd::state() const {
  OptimizerState s;
  for (size_t k = 0; k < params_.size(); ++k)
    if (buffers_[k].defined()) s.tensors[params_[k].first + ".momentum_buffer"] = buffers_[k].clone();
  return s;
}

void Sgd::load_state(const OptimizerState& s) {
  std::set<std::string> known;
  for (auto& [name, p] : params_) {
    const std::string key = name + ".momentum_buffer";
    known.insert(key);
    auto it = s.tensors.find(key);
    if (it != s.tensors.end() &&
        (!it->second.defined() || it->second.shape() != p.shape() || it->second.dtype() != DType::f32))
      throw Error("Sgd::load_state: '" + key + "' is " +
                  (it->second.defined() ? it->second.describe() : std::string("undefined")) + ", expected " +
                  p.describe());
  }
  for (auto& [key, t] : s.tensors)
    if (!known.count(key))
      throw Error("Sgd::load_state: unexpected entry '" + key + "' (" + t.describe() + ")");
  if (!s.scalars.empty())
    throw Error("Sgd::load_state: unexpected scalar '" + s.scalars.begin()->first + "'");
  for (size_t k = 0; k < params_.size(); ++k) {
    auto it = s.tensors.find(params_[k].first + ".momentum_buffer");
    buffers_[k] = it == s.tensors.end() ? Tensor() : it->second.to(params_[k].second.device()).clone();
  }
}

}  // namespace prism::nn
