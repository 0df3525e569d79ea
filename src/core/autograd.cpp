// The backward pass: deterministic topological sort of the recorded nodes, reverse walk, gradient
// accumulation. Reference code (micrograd's algorithm over tensors).
#include "prism/core/autograd.hpp"

#include <unordered_map>
#include <unordered_set>

#include "prism/core/profile.hpp"
#include "prism/core/runtime.hpp"

namespace prism {

namespace {
thread_local bool g_grad_enabled = true;

// grad += g, or grad = g for the first contribution. Contributions arrive in the fixed reverse-topological
// order.
void accumulate(Tensor& slot, const Tensor& g) {
  if (!slot.defined()) {
    slot = g;
    return;
  }
  Tensor sum = Tensor::empty(slot.shape(), DType::f32, slot.device());
  slot.backend_for(Op::binary)
      .binary(BinaryOp::add, sum.data_f32(), slot.data_f32(), g.data_f32(), slot.numel());
  slot = sum;
}
}  // namespace

bool grad_enabled() {
  return g_grad_enabled;
}
NoGradGuard::NoGradGuard() : saved_(g_grad_enabled) {
  g_grad_enabled = false;
}
NoGradGuard::~NoGradGuard() {
  g_grad_enabled = saved_;
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

void record(Tensor& output, const char* name, std::vector<Tensor> inputs,
            std::function<std::vector<Tensor>(const Tensor&)> backward) {
  if (!g_grad_enabled) return;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return;
  auto node = std::make_shared<Node>();
  node->name = name;
  if (profile::enabled()) profile::label_node(node.get());
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  output.set_grad_fn(std::move(node));
}

void run_backward(const Tensor& root, const Tensor& seed) {
  if (!root.requires_grad())
    throw Error("backward(): the tensor does not require grad (no recorded history)");
  NoGradGuard no_recording;  // backward rules are built from ops; they must not extend the graph
  // Post-order DFS over tensors with history; iterative to survive deep graphs.
  std::vector<TensorImpl*> order;
  std::unordered_set<TensorImpl*> seen;
  struct Frame {
    TensorImpl* t;
    size_t next;
  };
  std::vector<Frame> stack{{root.impl(), 0}};
  seen.insert(root.impl());
  while (!stack.empty()) {
    Frame& f = stack.back();
    Node* node = f.t->grad_fn.get();
    if (node && f.next < node->inputs.size()) {
      TensorImpl* in = node->inputs[f.next++].impl();
      if (in && in->grad_fn && !seen.count(in)) {
        seen.insert(in);
        stack.push_back({in, 0});
      }
      continue;
    }
    order.push_back(f.t);
    stack.pop_back();
  }

  // Gradients of intermediate tensors live here and die with the pass; leaves keep theirs in .grad.
  std::unordered_map<TensorImpl*, Tensor> grads;
  grads[root.impl()] = seed;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    TensorImpl* t = *it;
    auto g = grads.find(t);
    if (g == grads.end()) continue;
    Tensor grad_out = g->second;
    grads.erase(g);
    Node& node = *t->grad_fn;
    // The profiler times this node and its accumulation under the scope its forward ran in.
    profile::Scope timed(profile::enabled() ? profile::node_label(&node) : "");
    std::vector<Tensor> in_grads = node.backward(grad_out);
    if (in_grads.size() != node.inputs.size())
      throw Error(std::string("autograd: backward of '") + node.name +
                  "' returned the wrong number of gradients");
    for (size_t k = 0; k < in_grads.size(); ++k) {
      const Tensor& in = node.inputs[k];
      const Tensor& gk = in_grads[k];
      if (!gk.defined() || !in.defined() || !in.requires_grad()) continue;
      if (gk.shape() != in.shape())
        throw Error(std::string("autograd: '") + node.name + "' gave gradient " + gk.describe() +
                    " for input " + in.describe());
      if (in.grad_fn())
        accumulate(grads[in.impl()], gk);
      else
        accumulate(in.impl()->grad, gk);
    }
  }
}

}  // namespace prism
