// Autograd-light: a dynamic graph of nodes, one per differentiable primitive call (reference code).
// A node keeps its inputs and a backward closure that returns one gradient per input; backward() sorts the
// nodes topologically (depth-first, inputs in order, so the order is deterministic) and walks them in
// reverse, adding each returned gradient into the input's .grad (first contribution assigned, later ones
// added in that order).
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "prism/core/tensor.hpp"

namespace prism {

struct Node {
  const char* name = "";
  std::vector<Tensor> inputs;
  // Receives d(loss)/d(output); returns d(loss)/d(input k) for each input (undefined = no gradient).
  std::function<std::vector<Tensor>(const Tensor& grad_output)> backward;
};

bool grad_enabled();

// Disables graph recording in a scope (evaluation, optimizer steps, memory-bank writes).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool saved_;
};

// True when an op over these inputs must be recorded.
bool needs_grad(std::initializer_list<const Tensor*> inputs);

// Records `output` as produced by `name` from `inputs` with the given backward rule (no-op when !needs_grad).
void record(Tensor& output, const char* name, std::vector<Tensor> inputs,
            std::function<std::vector<Tensor>(const Tensor&)> backward);

// Runs the backward pass from `root` with seed gradient `seed` (same shape as root).
void run_backward(const Tensor& root, const Tensor& seed);

}  // namespace prism
