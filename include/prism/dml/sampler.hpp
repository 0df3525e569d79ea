// The P×K batch sampler (DESIGN §4.7): each batch holds P = batch / K classes × K instances; the classes are
// drawn without replacement; a class with fewer than K images gives all of them plus draws with replacement
// from them. Batch b is a pure function of (seed, b) through the Philox sampler stream, so the state is one
// counter. Reference code.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "prism/dml/state.hpp"

namespace prism::dml {

struct PKBatch {
  std::vector<int64_t> indices;  // dataset indices, class by class, K per class
  std::vector<int32_t> labels;   // their labels
};

class PKSampler {
 public:
  // labels: the (noisy) training label of every sample, any values >= 0; batch_size = P · K with P ≤ the
  // number of classes that have at least one sample.
  PKSampler(const std::vector<int32_t>& labels, int64_t batch_size, int64_t instances, uint64_t seed);

  PKBatch next() { return batch(counter_++); }
  PKBatch batch(uint64_t b) const;  // the b-th batch, without touching the counter

  int64_t classes_per_batch() const { return P_; }
  int64_t instances() const { return K_; }
  int64_t num_classes() const { return static_cast<int64_t>(classes_.size()); }
  uint64_t counter() const { return counter_; }
  void set_counter(uint64_t c) { counter_ = c; }

  // Integers "<prefix>counter" and "<prefix>seed" (the seed is checked on load).
  void save_state(StateDict& state, const std::string& prefix = "sampler.") const;
  void load_state(const StateDict& state, const std::string& prefix = "sampler.");

 private:
  std::vector<int32_t> classes_;               // distinct labels, increasing
  std::vector<std::vector<int64_t>> members_;  // per class, increasing sample index
  int64_t P_, K_;
  uint64_t seed_, counter_ = 0;
};

}  // namespace prism::dml
