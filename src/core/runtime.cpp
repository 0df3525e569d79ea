// Process-wide mode, thread count and backend registry (reference code).
#include "prism/core/runtime.hpp"

#include <tbb/global_control.h>
#include <tbb/info.h>

#include <charconv>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "cpu/cpu_backend.hpp"

#ifdef PRISM_WITH_CUDA
namespace prism::cuda {
// Defined in backends/cuda; returns null and fills `why` when no usable GPU is present.
Backend* create_backend(std::string* why);
}  // namespace prism::cuda
#endif

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
}

Mode parse_mode(const std::string& s) {
  if (s == "exact") return Mode::exact;
  if (s == "fast") return Mode::fast;
  throw Error("unknown numeric mode '" + s + "' (expected exact or fast)");
}

int num_threads() {
  return g_threads > 0 ? g_threads : static_cast<int>(tbb::info::default_concurrency());
}

void set_num_threads(int n) {
  if (n < 0) throw Error("thread count must be >= 0 (0 = all hardware threads), got " + std::to_string(n));
  g_threads = n;
  g_thread_limit.reset();
  if (n > 0)
    g_thread_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                           static_cast<size_t>(n));
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

namespace {
struct CudaSlot {
  std::once_flag once;
  Backend* backend = nullptr;
  std::string why = "this build has no CUDA backend (configure with nvcc present, PRISM_CUDA=AUTO or ON)";
};
CudaSlot& cuda_slot() {
  static CudaSlot slot;
  std::call_once(slot.once, [] {
#ifdef PRISM_WITH_CUDA
    slot.why.clear();
    slot.backend = cuda::create_backend(&slot.why);
#endif
  });
  return slot;
}
}  // namespace

bool device_available(DeviceType d) {
  return d == DeviceType::cpu || cuda_slot().backend != nullptr;
}

std::string device_unavailable_reason(DeviceType d) {
  return d == DeviceType::cpu ? std::string() : cuda_slot().why;
}

Backend& backend(DeviceType d) {
  if (d == DeviceType::cpu) {
    static cpu::CpuBackend cpu_backend;
    return cpu_backend;
  }
  CudaSlot& slot = cuda_slot();
  if (!slot.backend) throw Error("device cuda is not available: " + slot.why);
  return *slot.backend;
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
  if (const char* d = std::getenv("PRISM_DEVICE"); d && *d) {
    try {
      parse_device(d);  // checked now; default_device() reads it where a command needs a device
    } catch (const Error& e) {
      throw Error(std::string("PRISM_DEVICE: ") + e.what());
    }
  }
}

}  // namespace prism
