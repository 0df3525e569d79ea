// Module: the small building block of the nets (reference code, in the spirit of micrograd / tiny-dnn).
// A module owns named parameters (trainable f32 tensors), named buffers (state that is not trained, e.g.
// batch-norm running statistics) and named children; names are dotted paths ("conv1.weight", "0.bias"),
// stable for checkpoints.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "prism/core/tensor.hpp"

namespace prism::nn {

// How a parameter is initialised by init_parameters (init.hpp); chosen by the layer that registers it.
enum class Init { he_uniform, zeros, ones };

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using TensorMap = std::map<std::string, Tensor>;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
  // One line for this module alone ("Conv2d(1→32, k=3, s=1, p=1, bias=false)"); describe() adds the tree.
  virtual std::string repr() const = 0;
  std::string describe() const;

  // ---- mode -----------------------------------------------------------------------------------------------
  // Sets training mode for this module and every descendant (batch norm: batch statistics vs running ones).
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // ---- parameters, buffers, children ----------------------------------------------------------------------
  // Depth-first in registration order: own entries first, then each child's under "child_name.".
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;  // total element count
  // The Init of each parameter, in named_parameters() order.
  std::vector<Init> parameter_inits() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

  void zero_grad();  // drops every parameter's gradient (torch's set_to_none)

  // Moves parameters and buffers to `device` in place: every Tensor handle to them (an optimizer's, a test's)
  // sees the move. Gradients are dropped. Create optimizers after moving, or move them too.
  void to(DeviceType device);
  DeviceType device() const;  // of the first parameter or buffer (cpu for a module with neither)

  // ---- checkpoints ----------------------------------------------------------------------------------------
  // Parameters and buffers by name, as deep copies on the module's device
  // (later training does not change them).
  TensorMap state() const;
  // Copies every entry into the existing tensors (device conversions included). Throws prism::Error naming
  // the key on a missing entry, an unexpected entry, or a shape/dtype mismatch; on error nothing has been
  // changed.
  void load_state(const TensorMap& state);

 protected:
  // Registration returns the tensor handle (shared storage), which the layer keeps as a member.
  Tensor register_parameter(const std::string& name, Tensor t, Init init);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }
  void add_child(const std::string& name, std::shared_ptr<Module> m);

 private:
  struct Param {
    std::string name;
    Tensor tensor;
    Init init;
  };
  void collect(const std::string& prefix, NamedTensors* params, NamedTensors* buffers,
               std::vector<Init>* inits) const;
  void describe_into(std::string& out, const std::string& name, int depth) const;

  std::vector<Param> params_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Children applied in order. Unnamed children get their index ("0", "1", …) as torch.nn.Sequential does.
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential& add(std::shared_ptr<Module> m);
  Sequential& add(const std::string& name, std::shared_ptr<Module> m);
  Tensor forward(const Tensor& x) override;
  std::string repr() const override { return "Sequential"; }
  size_t size() const { return children().size(); }
};

}  // namespace prism::nn
