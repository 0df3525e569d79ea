// Host-side view of the Philox streams: a generator is (seed, stream, counter), cheap to copy, save and
// resume. Reference code; the device uses the same kern::philox_u32 directly.
#pragma once
#include <cstdint>

#include "prism/kernels/philox.hpp"

namespace prism {

// One stream per purpose, so adding draws to one purpose never shifts another's numbers.
enum class RngStream : uint64_t {
  init = 1,     // parameter initialisation (sub-stream per parameter via Rng::fork)
  sampler = 2,  // P×K batch sampling
  noise = 3,    // label-noise generation
  augment = 4,  // data augmentation (sub-stream per sample)
  split = 5,    // dataset splits and subsets
  loss = 6,     // parameters a loss owns (SoftTriple's centers)
  test = 100,   // tests and benchmarks
};

class Rng {
 public:
  Rng() = default;
  Rng(uint64_t seed, uint64_t stream, uint64_t counter = 0)
      : seed_(seed), stream_(stream), counter_(counter) {}
  Rng(uint64_t seed, RngStream stream) : Rng(seed, static_cast<uint64_t>(stream)) {}

  uint32_t next_u32() { return kern::philox_u32(seed_, stream_, counter_++); }
  float uniform() { return kern::u32_to_unit_float(next_u32()); }           // [0, 1)
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }  // [lo, hi)
  uint32_t below(uint32_t n) { return kern::u32_below(next_u32(), n); }     // [0, n)
  bool bernoulli(float p) { return uniform() < p; }

  // An independent generator for a numbered sub-purpose (a parameter, a sample): the stream id mixes in
  // `sub`.
  Rng fork(uint64_t sub) const { return Rng(seed_, stream_ * 0x9E3779B97F4A7C15ull + sub + 1, 0); }

  uint64_t seed() const { return seed_; }
  uint64_t stream() const { return stream_; }
  uint64_t counter() const { return counter_; }
  void set_counter(uint64_t c) { counter_ = c; }

 private:
  uint64_t seed_ = 0, stream_ = 0, counter_ = 0;
};

}  // namespace prism
