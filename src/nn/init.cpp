// Parameter initialisation (reference): Kaiming uniform weights, zero biases, unit BN scales; see init.hpp.
#include "prism/nn/init.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"

namespace prism::nn {

int64_t fan_in(const Shape& s) {
  if (s.size() < 2 || s[0] <= 0)
    throw Error("init: he_uniform needs a weight of rank >= 2, got " + shape_str(s));
  return shape_numel(s) / s[0];
}

float he_uniform_bound(const Shape& s) {
  return static_cast<float>(std::sqrt(6.0 / static_cast<double>(fan_in(s))));
}

void init_parameters(Module& m, uint64_t seed) {
  const NamedTensors params = m.named_parameters();
  const std::vector<Init> inits = m.parameter_inits();
  const Rng base(seed, RngStream::init);
  for (size_t k = 0; k < params.size(); ++k) {
    Tensor t = params[k].second;
    std::vector<float> host(t.numel());
    switch (inits[k]) {
      case Init::zeros:
        std::fill(host.begin(), host.end(), 0.0f);
        break;
      case Init::ones:
        std::fill(host.begin(), host.end(), 1.0f);
        break;
      case Init::he_uniform: {
        const float b = he_uniform_bound(t.shape());
        Rng rng = base.fork(k);
        for (auto& v : host) v = (2.0f * rng.uniform() - 1.0f) * b;
        break;
      }
    }
    t.copy_from(Tensor::from_vector(t.shape(), host));
  }
}

}  // namespace prism::nn
