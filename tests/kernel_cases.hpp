// Kernel cases over the Backend interface, for the CUDA cross-checks: every op of backend.hpp with shapes
// that reach its edges (partial tiles, several reduction chunks, ties, special values). One case runs on any
// Backend (the CPU backend, the launch emulator, the CUDA backend) from the same Philox-generated inputs and
// returns its outputs as bits, each written into a NaN-poisoned buffer followed by guard words, so unwritten
// elements and out-of-bounds writes show. Used by tests/test_cuda_emulator.cpp ([emulator]) and
// tests/test_cuda.cpp ([cuda]).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "prism/backend.hpp"

namespace prism::testing {

struct CaseOutput {
  std::string name;
  bool is_f32 = true;
  std::vector<uint32_t> bits;  // the output's elements, as stored
  bool guard_ok = true;        // the guard words after the output are intact
};

// The buffers of one case on one backend; frees them on destruction.
class CaseRun {
 public:
  explicit CaseRun(Backend& be) : be_(be) {}
  ~CaseRun();
  CaseRun(const CaseRun&) = delete;
  CaseRun& operator=(const CaseRun&) = delete;

  Backend& backend() { return be_; }
  float* in(const std::vector<float>& v);
  int32_t* in_i32(const std::vector<int32_t>& v);
  float* out(const std::string& name, int64_t n);  // NaN-poisoned, guarded
  int32_t* out_i32(const std::string& name, int64_t n);
  float* inout(const std::string& name, const std::vector<float>& v);  // updated in place, guarded
  std::vector<CaseOutput> collect();  // synchronises, downloads every output and checks its guard

 private:
  struct Buffer {
    void* ptr;
    size_t bytes;
    std::string name;  // empty for inputs
    bool is_f32;
    int64_t n;
  };
  void* put(const void* host, size_t bytes, const std::string& name, bool is_f32, int64_t n, bool guarded);
  Backend& be_;
  std::vector<Buffer> bufs_;
};

struct KernelCase {
  Op op;
  std::string label;   // the op and its parameters, printed on failure
  bool large = false;  // conv-net sized: run on the GPU only (too slow for the emulator)
  std::function<void(CaseRun&)> run;
};

// Every case, in a fixed order.
const std::vector<KernelCase>& kernel_cases();

// Runs one case on `be` and returns its outputs.
std::vector<CaseOutput> run_case(const KernelCase& c, Backend& be);

// Index of the first element where a and b differ bit for bit (f32: any two NaNs count as equal, since IEEE
// leaves NaN payloads to the hardware), or −1.
int64_t first_difference(const CaseOutput& a, const CaseOutput& b);

// "i=12 a=1.5 (0x3fc00000) b=1.50000012 (0x3fc00001)" for the report of a mismatch.
std::string describe_difference(const CaseOutput& a, const CaseOutput& b, int64_t i);

// Normalised MSE Σ(a − b)² / Σ b² over the finite elements; +inf when a non-finite element differs in kind
// (NaN vs number, or infinities of different sign).
double normalized_mse(const CaseOutput& a, const CaseOutput& b);

}  // namespace prism::testing
