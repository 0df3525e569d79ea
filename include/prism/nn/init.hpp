// Parameter initialisation from the Philox RNG (reference code): a pure function of (seed, parameter index),
// computed on the host and copied to the parameter's device, so it is the same on every device, thread count
// and run.
//
// Scheme (He et al. 2015, "Kaiming uniform" for ReLU nets, fan-in mode):
//   weights of Conv2d / Linear (Init::he_uniform): U(−b, b) with b = gain · sqrt(3 / fan_in) = sqrt(6 /
//   fan_in),
//     gain = sqrt(2) (ReLU), fan_in = numel / shape[0] (= Ci·KH·KW for conv, in_features for linear).
//     This is torch.nn.init.kaiming_uniform_(w, a=0, mode='fan_in', nonlinearity='relu'); note it is NOT
//     torch's layer default (which uses a = sqrt(5), i.e. b = 1/sqrt(fan_in)).
//   biases of Conv2d / Linear (Init::zeros): 0.   BatchNorm weight (Init::ones): 1, bias: 0.
// Draws: parameter k (its index in named_parameters()) uses Rng(seed, RngStream::init).fork(k), element i
// (row-major) takes draw i: w[i] = (2·u_i − 1) · b with u_i = Rng::uniform() ∈ [0, 1) (2u − 1 is exact; one
// rounding by b).
#pragma once
#include <cstdint>

#include "prism/nn/module.hpp"

namespace prism::nn {

// fan_in = numel / shape[0] of a weight tensor of rank ≥ 2.
int64_t fan_in(const Shape& weight_shape);
// sqrt(6 / fan_in), computed in double and rounded once to float.
float he_uniform_bound(const Shape& weight_shape);

// Gives every parameter of `m` its initial value (buffers are left as constructed: running mean 0, variance
// 1).
void init_parameters(Module& m, uint64_t seed);

}  // namespace prism::nn
