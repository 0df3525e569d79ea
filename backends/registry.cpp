// The backend registry (reference code), the one place that knows the concrete backends: the CPU backend, the
// CUDA backend when built and a GPU is present, or the launch emulator in the cuda slot, each given the
// runtime's mode and thread count.
#include "prism/registry.hpp"

#include <atomic>
#include <memory>
#include <mutex>

#include "cpu/cpu_backend.hpp"
#include "cuda/emulator.hpp"
#include "prism/core/runtime.hpp"

#ifdef PRISM_WITH_CUDA
namespace prism::cuda {
// Defined in backends/cuda/backend.cu; returns null and fills `why` when no usable GPU is present.
Backend* create_backend(std::string* why);
}  // namespace prism::cuda
#endif

namespace prism {

namespace {

struct Registry {
  std::mutex mu;  // guards creation of the cuda backends and the settings pushed to them
  cpu::CpuBackend cpu;
  std::once_flag cuda_probe;
  Backend* cuda = nullptr;  // the real CUDA backend, once probed (null: none usable)
  std::string cuda_why =
      "this build has no CUDA backend (configure with nvcc present, PRISM_CUDA=AUTO or ON)";
  std::unique_ptr<cuda::emu::EmuBackend> emulator;  // created by the first use_cuda_emulator(true)
  std::atomic<bool> emulated{false};

  Registry() { configure(cpu); }
  static void configure(Backend& b) {
    b.set_mode(mode());
    b.set_num_threads(num_threads());
  }
  Backend* real_cuda() {
    std::call_once(cuda_probe, [&] {  // uses `this` only when the CUDA backend is compiled in
#ifdef PRISM_WITH_CUDA
      cuda_why.clear();
      Backend* created = cuda::create_backend(&cuda_why);
      if (created) configure(*created);
      std::lock_guard<std::mutex> lock(mu);
      cuda = created;
#endif
    });
    return cuda;
  }
};

// Never destroyed: every backend lives until the process exits, so a tensor freed during static destruction
// still finds its backend.
Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

}  // namespace

bool device_available(DeviceType d) {
  Registry& r = registry();
  return d == DeviceType::cpu || r.emulated.load() || r.real_cuda() != nullptr;
}

std::string device_unavailable_reason(DeviceType d) {
  Registry& r = registry();
  if (d == DeviceType::cpu || r.emulated.load() || r.real_cuda()) return std::string();
  return r.cuda_why;
}

Backend& backend(DeviceType d) {
  Registry& r = registry();
  if (d == DeviceType::cpu) return r.cpu;
  if (r.emulated.load()) return *r.emulator;
  Backend* real = r.real_cuda();
  if (!real) throw Error("device cuda is not available: " + r.cuda_why);
  return *real;
}

void use_cuda_emulator(bool on) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (on && !r.emulator) {
    r.emulator = std::make_unique<cuda::emu::EmuBackend>();
    Registry::configure(*r.emulator);
  }
  r.emulated.store(on);
}

bool cuda_emulated() {
  return registry().emulated.load();
}

void configure_backends(Mode m, int threads) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (Backend* b : {static_cast<Backend*>(&r.cpu), r.cuda, static_cast<Backend*>(r.emulator.get())})
    if (b) {
      b->set_mode(m);
      b->set_num_threads(threads);
    }
}

}  // namespace prism
