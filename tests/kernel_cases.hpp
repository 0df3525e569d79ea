// The kernel case table: one description per call of a backend kernel (reference test harness). A Case names
// the Op and its parameters, its arguments (name, dtype, element count, role), how Philox fills the inputs on
// the host (special values, ties, spread magnitudes), the call against any Backend&, and the fast-mode
// budget. The table lives in tests/test_kernel_cases.cpp, the runner that executes a case on a backend and
// compares two executions in tests/kernel_runner.hpp. Users: tests/test_parity.cpp [parity] (CPU: reference
// loops, 1 vs 2 threads, fast vs exact), tests/test_cuda_emulator.cpp [emulator] (the CUDA exact kernels on
// the CPU) and tests/test_cuda.cpp [cuda] (the GPU).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "prism/backend.hpp"
#include "prism/core/random.hpp"

namespace prism::testing {

// ---- arguments --------------------------------------------------------------------------------------------

enum class Role { in, out, inout };
enum class Kind { f32, i32 };

struct Arg {
  std::string name;
  Kind kind;
  int64_t n;  // elements
  Role role;
};
inline Arg fin(std::string name, int64_t n) {
  return {std::move(name), Kind::f32, n, Role::in};
}
inline Arg fout(std::string name, int64_t n) {
  return {std::move(name), Kind::f32, n, Role::out};
}
inline Arg finout(std::string name, int64_t n) {
  return {std::move(name), Kind::f32, n, Role::inout};
}
inline Arg iin(std::string name, int64_t n) {
  return {std::move(name), Kind::i32, n, Role::in};
}
inline Arg iout(std::string name, int64_t n) {
  return {std::move(name), Kind::i32, n, Role::out};
}

// The Philox draws of one case's inputs: the numbers of prism::Rng(seed, stream), in the same order, with
// each 4-word Philox block computed once instead of once per word (input generation dominated the harness's
// time).
class InputRng {
 public:
  InputRng(uint64_t seed, RngStream stream) : seed_(seed), stream_(static_cast<uint64_t>(stream)) {}
  uint32_t next_u32() {
    if ((counter_ & 3) == 0 || !filled_) {
      const uint64_t block = counter_ >> 2;
      block_ = kern::philox4x32_10(uint32_t(block), uint32_t(block >> 32), uint32_t(stream_),
                                   uint32_t(stream_ >> 32), uint32_t(seed_), uint32_t(seed_ >> 32));
      filled_ = true;
    }
    return block_.v[counter_++ & 3];
  }
  float uniform() { return kern::u32_to_unit_float(next_u32()); }           // [0, 1)
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }  // [lo, hi)
  uint32_t below(uint32_t n) { return kern::u32_below(next_u32(), n); }     // [0, n)
  bool bernoulli(float p) { return uniform() < p; }

 private:
  uint64_t seed_, stream_, counter_ = 0;
  kern::Philox4 block_{};
  bool filled_ = false;
};

// The arguments' contents on the host as raw 32-bit words (f32 or i32), indexed like Case::args, and the
// fills the cases use.
struct Host {
  std::vector<std::vector<uint32_t>> words;

  float* f(size_t k) { return reinterpret_cast<float*>(words[k].data()); }
  int32_t* i(size_t k) { return reinterpret_cast<int32_t*>(words[k].data()); }
  int64_t n(size_t k) const { return static_cast<int64_t>(words[k].size()); }

  void uniform(size_t k, float lo, float hi, InputRng& rng) {
    for (int64_t j = 0; j < n(k); ++j) f(k)[j] = rng.uniform(lo, hi);
  }
  // |value| in [lo, hi) with a random sign (divisors, values kept off a kink).
  void signed_magnitude(size_t k, float lo, float hi, InputRng& rng) {
    for (int64_t j = 0; j < n(k); ++j) f(k)[j] = (rng.bernoulli(0.5f) ? -1.0f : 1.0f) * rng.uniform(lo, hi);
  }
  // Magnitudes spread over 24 binades: a sum then depends on its order, so a reordered reduction shows.
  void spread(size_t k, InputRng& rng);
  // Values on the grid (0, 1, …, levels − 1) / 4 − 1: maxima tie and sums hit exact halfway cases.
  void coarse(size_t k, int levels, InputRng& rng);
  void integers(size_t k, uint32_t below, InputRng& rng) {
    for (int64_t j = 0; j < n(k); ++j) i(k)[j] = static_cast<int32_t>(rng.below(below));
  }
  // values[m] at element 7·m (as far as the argument reaches).
  void put(size_t k, const std::vector<float>& values);
};

// ±0, ±1, ±inf, NaN, ± subnormal, FLT_MIN, FLT_MAX, the edges of exp's range (overflow above 88.7228,
// subnormal results below −87.34, zero below −103.97), 0.5, 2.
const std::vector<float>& special_values();

// Device pointers of one execution, typed.
struct Ptrs {
  std::vector<void*> p;
  float* f(size_t k) const { return static_cast<float*>(p[k]); }
  int32_t* i(size_t k) const { return static_cast<int32_t*>(p[k]); }
};

// ---- fast-mode budgets ------------------------------------------------------------------------------------

// Normalised MSE Σ(a − b)² / Σ b² of fast against exact, by what the fast path may legitimately change. All
// within the DESIGN §3.1 bound of 1e-8.
//   kTolSame: data movement, comparisons, single IEEE operations: no reason to differ;
//   kTolUlp:  a few ulps per element (libm vs portable exp/log): ≤ (4·2^-24)²;
//   kTolSum:  reordered sums of up to ~10^5 terms per output: ≈ K·2^-48 worst, ~1e-13 typical;
//   kTolLong: sums of 5·10^4 to 3·10^6 terms per output (GPU-only cases): K·2^-48 reaches 1e-8.
inline constexpr double kTolSame = 0;
inline constexpr double kTolUlp = 1e-12;
inline constexpr double kTolSum = 1e-10;
inline constexpr double kTolLong = 1e-8;

// ---- the case ---------------------------------------------------------------------------------------------

struct Case {
  Op op;
  std::string params;  // printed on failure with the op's name
  std::vector<Arg> args;
  // Fills the inputs after the default fill (f32 inputs uniform in [−1, 1), i32 inputs 0); may be empty.
  std::function<void(Host&, InputRng&)> init;
  // The call, on any backend, with the arguments' device pointers (more than one kernel where a case needs an
  // intermediate, e.g. max-pool backward from the same backend's forward).
  std::function<void(Backend&, const Ptrs&)> run;
  double fast_tol;
  // Inputs hold ±inf, NaN or values whose results overflow: outputs may be non-finite (otherwise a non-finite
  // output fails the case).
  bool specials = false;
  // Conv-net sized: run on the GPU only (too slow for the reference loops and the emulator).
  bool large = false;

  std::string describe() const { return std::string(op_name(op)) + " " + params; }
};

// Every case, in a fixed order (tests/test_kernel_cases.cpp).
const std::vector<Case>& kernel_cases();

}  // namespace prism::testing
