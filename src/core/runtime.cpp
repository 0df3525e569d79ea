// Process-wide mode and thread count, parsed from names and the environment, and forwarded to the backends
// through the registry (reference code). The registry itself lives in backends/registry.cpp.
#include "prism/core/runtime.hpp"

#include <tbb/global_control.h>
#include <tbb/info.h>

#include <charconv>
#include <cstdlib>
#include <memory>

#include "cpu/isa.hpp"

namespace prism {

namespace {
Mode g_mode = Mode::exact;
int g_threads = 0;
std::unique_ptr<tbb::global_control> g_thread_limit;
}  // namespace

const char* mode_name(Mode m) {
  return m == Mode::exact ? "exact" : "fast";
}
const char* device_name(DeviceType d) {
  return d == DeviceType::cpu ? "cpu" : "cuda";
}

Mode mode() {
  return g_mode;
}
void set_mode(Mode m) {
  g_mode = m;
  configure_backends(g_mode, num_threads());
}

Mode parse_mode(const std::string& s) {
  if (s == "exact") return Mode::exact;
  if (s == "fast") return Mode::fast;
  throw Error("unknown numeric mode '" + s + "' (expected exact or fast)");
}

int num_threads() {
  return g_threads > 0 ? g_threads : static_cast<int>(tbb::info::default_concurrency());
}

#ifdef PRISM_TSAN_SERIAL_TBB
// ThreadSanitizer build (-DPRISM_TSAN=ON): Debian's libtbb is not instrumented, so every oneTBB task handoff
// would be reported as a race. oneTBB runs on the calling thread only, for the whole process; TSan then checks
// prism's own threads (the batch prefetcher and the loop that consumes it). The thread count a run asks for
// is still what the backends are configured with, so the code paths are the same.
const tbb::global_control g_tsan_serial_tbb(tbb::global_control::max_allowed_parallelism, 1);
#endif

void set_num_threads(int n) {
  if (n < 0) throw Error("thread count must be >= 0 (0 = all hardware threads), got " + std::to_string(n));
  g_threads = n;
  g_thread_limit.reset();
#ifndef PRISM_TSAN_SERIAL_TBB
  if (n > 0)
    g_thread_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                           static_cast<size_t>(n));
#endif
  configure_backends(g_mode, num_threads());
}

DeviceType parse_device(const std::string& s) {
  if (s == "cpu") return DeviceType::cpu;
  if (s == "cuda" || s == "gpu") return DeviceType::cuda;
  throw Error("unknown device '" + s + "' (expected cpu or cuda)");
}

DeviceType default_device() {
  const char* env = std::getenv("PRISM_DEVICE");
  return env && *env ? parse_device(env) : DeviceType::cpu;
}

void apply_environment() {
  // Each error names the variable: the value did not come from any flag the user can see.
  if (const char* m = std::getenv("PRISM_MODE"); m && *m) {
    try {
      set_mode(parse_mode(m));
    } catch (const Error& e) {
      throw Error(std::string("PRISM_MODE: ") + e.what());
    }
  }
  if (const char* t = std::getenv("PRISM_THREADS"); t && *t) {
    // Strict: std::atoi read "abc" as 0 (all threads) and "4x" as 4.
    const std::string text = t;
    int n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || ptr != text.data() + text.size() || n < 0)
      throw Error("PRISM_THREADS: expected a thread count >= 0 (0 = all hardware threads), got '" + text +
                  "'");
    set_num_threads(n);
  }
  // PRISM_ISA (the CPU kernel variant, backends/cpu/isa.hpp) is read on first use; check it now, so a bad
  // value is one line at start-up (naming the variable) rather than an error in the middle of a command.
  cpu::isa_kernels();
  if (const char* d = std::getenv("PRISM_DEVICE"); d && *d) {
    try {
      parse_device(d);  // checked now; default_device() reads it where a command needs a device
    } catch (const Error& e) {
      throw Error(std::string("PRISM_DEVICE: ") + e.what());
    }
  }
  if (const char* e = std::getenv("PRISM_CUDA_EMULATOR"); e && e[0] == '1') use_cuda_emulator();
}

}  // namespace prism
