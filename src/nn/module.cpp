// Module bookkeeping: registration, dotted names, train/eval, device moves, state() / load_state(),
// Sequential. Reference code; nothing here touches numbers except copies.
#include "prism/nn/module.hpp"

#include <set>

#include "prism/core/profile.hpp"
#include "prism/core/runtime.hpp"

namespace prism::nn {

namespace {
void require_name(const std::string& name, const char* what) {
  if (name.empty() || name.find('.') != std::string::npos)
    throw Error(std::string("nn: ") + what + " name '" + name + "' must be non-empty and contain no '.'");
}
}  // namespace

// ---- registration -----------------------------------------------------------------------------------------

Tensor Module::register_parameter(const std::string& name, Tensor t, Init init) {
  require_name(name, "parameter");
  if (!t.defined() || t.dtype() != DType::f32)
    throw Error("nn: parameter '" + name + "' must be a defined f32 tensor");
  t.set_requires_grad(true);
  params_.push_back({name, t, init});
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  require_name(name, "buffer");
  if (!t.defined()) throw Error("nn: buffer '" + name + "' is undefined");
  buffers_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  require_name(name, "child module");
  if (!m) throw Error("nn: child module '" + name + "' is null");
  for (const auto& c : children_)
    if (c.first == name) throw Error("nn: child module name '" + name + "' is used twice");
  m->train(training_);
  children_.emplace_back(name, std::move(m));
}

// ---- traversal --------------------------------------------------------------------------------------------

void Module::collect(const std::string& prefix, NamedTensors* params, NamedTensors* buffers,
                     std::vector<Init>* inits) const {
  for (const auto& p : params_) {
    if (params) params->emplace_back(prefix + p.name, p.tensor);
    if (inits) inits->push_back(p.init);
  }
  if (buffers)
    for (const auto& b : buffers_) buffers->emplace_back(prefix + b.first, b.second);
  for (const auto& c : children_) c.second->collect(prefix + c.first + ".", params, buffers, inits);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", &out, nullptr, nullptr);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", nullptr, &out, nullptr);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& p : named_parameters()) out.push_back(p.second);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& p : named_parameters()) n += p.second.numel();
  return n;
}

std::vector<Init> Module::parameter_inits() const {
  std::vector<Init> out;
  collect("", nullptr, nullptr, &out);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& c : children_) c.second->train(on);
}

void Module::zero_grad() {
  for (auto& p : named_parameters()) p.second.zero_grad();
}

// ---- devices ----------------------------------------------------------------------------------------------

void Module::to(DeviceType device) {
  NamedTensors all = named_parameters();
  NamedTensors bufs = named_buffers();
  all.insert(all.end(), bufs.begin(), bufs.end());
  // Copy everything first so a failing device leaves the module where it was.
  std::vector<Tensor> moved;
  for (auto& [name, t] : all) moved.push_back(t.to(device));
  for (size_t i = 0; i < all.size(); ++i) {
    TensorImpl* impl = all[i].second.impl();
    impl->storage = moved[i].impl()->storage;
    impl->offset = moved[i].impl()->offset;
    impl->device = device;
    impl->grad = Tensor();
  }
}

DeviceType Module::device() const {
  auto p = named_parameters();
  if (!p.empty()) return p.front().second.device();
  auto b = named_buffers();
  return b.empty() ? DeviceType::cpu : b.front().second.device();
}

// ---- checkpoints ------------------------------------------------------------------------------------------

TensorMap Module::state() const {
  TensorMap out;
  for (auto& [name, t] : named_parameters()) out[name] = t.clone();
  for (auto& [name, t] : named_buffers()) out[name] = t.clone();
  return out;
}

void Module::load_state(const TensorMap& state) {
  NamedTensors all = named_parameters();
  NamedTensors bufs = named_buffers();
  all.insert(all.end(), bufs.begin(), bufs.end());
  std::set<std::string> expected;
  for (auto& [name, t] : all) {
    expected.insert(name);
    auto it = state.find(name);
    if (it == state.end()) throw Error("load_state: missing entry '" + name + "' (" + t.describe() + ")");
    if (!it->second.defined() || it->second.shape() != t.shape() || it->second.dtype() != t.dtype())
      throw Error("load_state: entry '" + name + "' is " +
                  (it->second.defined() ? it->second.describe() : std::string("undefined")) + ", expected " +
                  t.describe());
  }
  for (auto& [name, t] : state)
    if (!expected.count(name))
      throw Error("load_state: unexpected entry '" + name + "' (" + t.describe() + ")");
  for (auto& [name, t] : all) t.copy_from(state.at(name));
}

// ---- printing ---------------------------------------------------------------------------------------------

void Module::describe_into(std::string& out, const std::string& name, int depth) const {
  out += std::string(2 * depth, ' ');
  if (!name.empty()) out += "(" + name + "): ";
  out += repr() + "\n";
  for (const auto& c : children_) c.second->describe_into(out, c.first, depth + 1);
}

std::string Module::describe() const {
  std::string out;
  describe_into(out, "", 0);
  out += "parameters: " + std::to_string(num_parameters()) + "\n";
  return out;
}

// ---- Sequential -------------------------------------------------------------------------------------------

Sequential& Sequential::add(std::shared_ptr<Module> m) {
  return add(std::to_string(children().size()), std::move(m));
}

Sequential& Sequential::add(const std::string& name, std::shared_ptr<Module> m) {
  add_child(name, std::move(m));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (const auto& c : children()) {
    profile::Scope timed(c.first);  // the step profiler's per-layer forward entry
    h = c.second->forward(h);
  }
  return h;
}

}  // namespace prism::nn
