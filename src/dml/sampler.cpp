// P×K sampling by partial Fisher–Yates shuffles driven by Philox: batch b uses Rng(seed, sampler).fork(b),
// class slot t of it fork(t) of that, so every draw depends only on (seed, b, t). Reference code.
#include "prism/dml/sampler.hpp"

#include <algorithm>
#include <map>

#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"

namespace prism::dml {

PKSampler::PKSampler(const std::vector<int32_t>& labels, int64_t batch_size, int64_t instances, uint64_t seed)
    : K_(instances), seed_(seed) {
  if (instances < 1)
    throw Error("PKSampler: instances per class (K) must be >= 1, got " + std::to_string(instances));
  if (batch_size < 1 || batch_size % instances != 0)
    throw Error("PKSampler: batch size " + std::to_string(batch_size) +
                " is not a positive multiple of K = " + std::to_string(instances));
  P_ = batch_size / instances;
  std::map<int32_t, std::vector<int64_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0)
      throw Error("PKSampler: label " + std::to_string(labels[i]) + " of sample " + std::to_string(i) +
                  " is negative");
    by_class[labels[i]].push_back(static_cast<int64_t>(i));
  }
  for (auto& [c, m] : by_class) {
    classes_.push_back(c);
    members_.push_back(std::move(m));
  }
  if (P_ > static_cast<int64_t>(classes_.size()))
    throw Error("PKSampler: a batch of " + std::to_string(batch_size) + " = " + std::to_string(P_) +
                " classes × " + std::to_string(K_) + " needs at least " + std::to_string(P_) +
                " classes, the labels have " + std::to_string(classes_.size()));
}

PKBatch PKSampler::batch(uint64_t b) const {
  Rng rng = Rng(seed_, RngStream::sampler).fork(b);
  const int64_t C = static_cast<int64_t>(classes_.size());
  // Classes: the first P positions of a Fisher–Yates shuffle of 0..C−1.
  std::vector<int64_t> cls(C);
  for (int64_t c = 0; c < C; ++c) cls[c] = c;
  for (int64_t t = 0; t < P_; ++t) {
    const int64_t j = t + rng.below(static_cast<uint32_t>(C - t));
    std::swap(cls[t], cls[j]);
  }
  PKBatch out;
  out.indices.reserve(P_ * K_);
  out.labels.reserve(P_ * K_);
  for (int64_t t = 0; t < P_; ++t) {
    Rng r = rng.fork(static_cast<uint64_t>(t));
    std::vector<int64_t> m = members_[cls[t]];
    const int64_t size = static_cast<int64_t>(m.size());
    // K distinct images when the class has them; otherwise all of them (shuffled) and the rest drawn again.
    const int64_t take = std::min(K_, size);
    for (int64_t s = 0; s < take; ++s) {
      const int64_t j = s + r.below(static_cast<uint32_t>(size - s));
      std::swap(m[s], m[j]);
      out.indices.push_back(m[s]);
    }
    for (int64_t s = take; s < K_; ++s) out.indices.push_back(m[r.below(static_cast<uint32_t>(size))]);
    out.labels.insert(out.labels.end(), K_, classes_[cls[t]]);
  }
  return out;
}

void PKSampler::save_state(StateDict& state, const std::string& prefix) const {
  state.ints[prefix + "counter"] = static_cast<int64_t>(counter_);
  state.ints[prefix + "seed"] = static_cast<int64_t>(seed_);
}

void PKSampler::load_state(const StateDict& state, const std::string& prefix) {
  const int64_t seed = state.integer(prefix + "seed"), counter = state.integer(prefix + "counter");
  if (static_cast<uint64_t>(seed) != seed_)
    throw Error("PKSampler::load_state: checkpoint seed " + std::to_string(seed) + ", sampler seed " +
                std::to_string(seed_));
  if (counter < 0) throw Error("PKSampler::load_state: negative counter " + std::to_string(counter));
  counter_ = static_cast<uint64_t>(counter);
}

}  // namespace prism::dml
