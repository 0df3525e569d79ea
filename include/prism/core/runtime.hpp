// Process-wide settings of the tensor layer: numeric mode (exact | fast) and host thread count, forwarded to
// every backend (prism/registry.hpp, also included here for backend lookup). Reference code. The environment
// variables PRISM_DEVICE, PRISM_MODE, PRISM_THREADS and PRISM_CUDA_EMULATOR override the defaults, so the
// tests can be pointed at another backend without recompiling.
#pragma once
#include <optional>  // kept for includers that rely on it
#include <stdexcept>
#include <string>

#include "prism/backend.hpp"
#include "prism/core/error.hpp"
#include "prism/registry.hpp"

namespace prism {

Mode mode();
void set_mode(Mode m);                  // also sets the mode of every backend (configure_backends)
Mode parse_mode(const std::string& s);  // "exact" | "fast"

int num_threads();
void set_num_threads(int n);  // oneTBB global_control and every backend; 0 = all hardware threads

DeviceType parse_device(const std::string& s);  // "cpu" | "cuda"
DeviceType default_device();                    // PRISM_DEVICE or cpu

// Applies PRISM_MODE / PRISM_THREADS once, and PRISM_CUDA_EMULATOR=1 (use_cuda_emulator: the launch emulator
// serves --device cuda) — called by the CLI and the test main.
void apply_environment();

struct ScopedMode {
  explicit ScopedMode(Mode m) : saved_(mode()) { set_mode(m); }
  ~ScopedMode() { set_mode(saved_); }
  ScopedMode(const ScopedMode&) = delete;
  ScopedMode& operator=(const ScopedMode&) = delete;

 private:
  Mode saved_;
};

struct ScopedThreads {
  explicit ScopedThreads(int n) : saved_(num_threads()) { set_num_threads(n); }
  ~ScopedThreads() { set_num_threads(saved_); }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int saved_;
};

}  // namespace prism
