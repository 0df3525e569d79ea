// Test helpers for the ResNet tests: the closed-form weights and inputs of tests/reference/make_resnet_golden.py
// (integer hash → float32, no RNG to port), computed bit for bit as the script does.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "prism/core/tensor.hpp"
#include "prism/nn/module.hpp"

namespace prism::testing {

inline uint32_t resnet_mix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x7FEB352Du;
  h ^= h >> 15;
  h *= 0x846CA68Bu;
  h ^= h >> 16;
  return h;
}

// u in [0, 1) (24 bits) for element i of tensor id k; v = 2u − 1 is exact in float.
inline float closed_form_u(uint64_t k, uint64_t i) {
  const uint32_t h = resnet_mix32(static_cast<uint32_t>(i * 0x9E3779B1ull + (k + 1) * 0x85EBCA77ull));
  return static_cast<float>(h >> 8) * 0x1p-24f;
}

inline std::vector<float> closed_form_v(uint64_t k, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = 2.0f * closed_form_u(k, static_cast<uint64_t>(i)) - 1.0f;
  return v;
}

// Overwrites every parameter and buffer of `m` with the script's closed-form values.
inline void load_closed_form_weights(nn::Module& m) {
  nn::TensorMap state;
  int64_t k = 0;
  for (const auto& [name, p] : m.named_parameters()) {
    const int64_t n = p.numel();
    std::vector<float> v = closed_form_v(static_cast<uint64_t>(k), n);
    const bool bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    if (bias) {
      for (float& x : v) x = 0.1f * x;
    } else if (p.dim() == 1) {
      for (float& x : v) x = 1.0f + 0.25f * x;
    } else {
      const float bound = static_cast<float>(std::sqrt(6.0 / static_cast<double>(n / p.size(0))));
      for (float& x : v) x = x * bound;
    }
    state[name] = Tensor::from_vector(p.shape(), v);
    ++k;
  }
  int64_t j = 0;
  for (const auto& [name, b] : m.named_buffers()) {
    const int64_t n = b.numel();
    std::vector<float> v(static_cast<size_t>(n));
    const bool mean = name.find("running_mean") != std::string::npos;
    for (int64_t i = 0; i < n; ++i) {
      const float u = closed_form_u(static_cast<uint64_t>(1000 + j), static_cast<uint64_t>(i));
      v[static_cast<size_t>(i)] = mean ? 0.1f * (2.0f * u - 1.0f) : 0.5f + u;
    }
    state[name] = Tensor::from_vector(b.shape(), v);
    ++j;
  }
  m.load_state(state);
}

}  // namespace prism::testing
