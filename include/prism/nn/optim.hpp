// Optimizers with torch.optim semantics (reference wiring; the update itself is the backend kernel sgd_update
// / adam_update, defined once in kernels/optim.hpp). Weight decay is L2 added to the gradient (g + wd·p), as
// torch.optim.SGD and torch.optim.Adam do (not AdamW's decoupled decay).
// A parameter whose gradient is undefined at step() is skipped and its state is left alone (torch does the
// same).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "prism/nn/module.hpp"

namespace prism::nn {

// Everything an optimizer needs to resume: tensors keyed "<param>.<slot>" (e.g. "fc.weight.exp_avg") and
// scalars keyed the same way (e.g. "fc.weight.step"). Names come from the parameter names given at
// construction.
struct OptimizerState {
  TensorMap tensors;
  std::map<std::string, double> scalars;
};

class Optimizer {
 public:
  Optimizer(NamedTensors params, double lr, const char* kind);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient (run without recording: updates are not
  // differentiable).
  virtual void step() = 0;
  void zero_grad();
  double lr() const { return lr_; }
  void set_lr(double lr);  // the trainer calls this before each step: lr_at(it), or the constant base rate
  const NamedTensors& params() const { return params_; }
  // Parameter k's learning rate is lr() · multiplier (1 by default; fine-tuning gives the head its own, e.g.
  // SOLVER.HEAD_LR_MULT). The product is taken in double, so a multiplier of 1 leaves the rate exactly lr().
  void set_lr_multiplier(size_t k, double multiplier);
  double lr_of(size_t k) const { return lr_ * lr_multipliers_[k]; }

  // Deep copies of the state (on the parameters' device); load_state checks names, shapes and values and
  // throws prism::Error naming the offending key, leaving the optimizer unchanged.
  virtual OptimizerState state() const = 0;
  virtual void load_state(const OptimizerState& s) = 0;

 protected:
  // The gradient of parameter k, checked against the parameter (undefined when the parameter has none).
  Tensor grad_of(size_t k) const;
  NamedTensors params_;
  double lr_;
  std::vector<double> lr_multipliers_;  // one per parameter
  const char* kind_;
};

struct SgdOptions {
  double lr = 0.01, momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false;
};

// torch.optim.SGD: d = g + wd·p; with momentum: buf = d on its first step, else momentum·buf + (1 −
// dampening)·d; d = nesterov ? d + momentum·buf : buf; p −= lr·d. Nesterov needs momentum > 0 and dampening =
// 0.
class Sgd : public Optimizer {
 public:
  Sgd(NamedTensors params, const SgdOptions& options);
  void step() override;
  OptimizerState state() const override;
  void load_state(const OptimizerState& s) override;
  const SgdOptions& options() const { return options_; }

 private:
  SgdOptions options_;
  std::vector<Tensor> buffers_;  // momentum buffers, undefined until a parameter's first step
};

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
};

// torch.optim.Adam (amsgrad off): g = grad + wd·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; with t the
// parameter's own step count, p −= (lr / (1 − β1ᵗ)) · m / (sqrt(v) / sqrt(1 − β2ᵗ) + eps). The two bias
// corrections are computed on the host in double from the double options, then rounded to float (AdamParams),
// as torch does with Python floats.
class Adam : public Optimizer {
 public:
  Adam(NamedTensors params, const AdamOptions& options);
  void step() override;
  OptimizerState state() const override;
  void load_state(const OptimizerState& s) override;
  const AdamOptions& options() const { return options_; }
  int64_t steps_of(size_t k) const { return steps_[k]; }

 private:
  AdamOptions options_;
  std::vector<Tensor> exp_avg_, exp_avg_sq_;  // allocated (zeros) at a parameter's first step
  std::vector<int64_t> steps_;
};

}  // namespace prism::nn
