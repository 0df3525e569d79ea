// The backend registry's interface (reference code; defined in backends/registry.cpp): which Backend serves
// each device — the CPU backend, the CUDA backend, or the CUDA launch emulator put in the cuda slot — and the
// forwarding of the runtime's mode and thread count to every backend it holds.
#pragma once
#include <string>

#include "prism/backend.hpp"

namespace prism {

bool device_available(DeviceType d);
std::string device_unavailable_reason(DeviceType d);
Backend& backend(DeviceType d);  // throws prism::Error naming why a device is unavailable

// Puts the CUDA launch emulator (cuda::emu::EmuBackend: host memory, the CUDA backend's exact kernels run by
// a CPU model of the grid/block loops, backends/cuda/emulator.hpp) in the cuda slot for this process, so that
// DeviceType::cuda runs the CUDA exact arithmetic on a machine without a GPU. Built into every build, with or
// without PRISM_WITH_CUDA. After use_cuda_emulator(true): backend(cuda) is the emulator,
// device_available(cuda) is true, device_unavailable_reason(cuda) is empty, device_name(cuda) stays "cuda"
// (cuda_emulated() tells the two apart, e.g. to print "cuda (emulator)"). The emulator is always exact: in
// fast mode it still runs the exact kernels. use_cuda_emulator(false) gives the slot back to the real CUDA
// backend (if any). Call it before any cuda tensor exists, or after the last one is gone: a tensor keeps the
// backend that allocated it, and the ops do not mix tensors of two backends of one device.
void use_cuda_emulator(bool on = true);
bool cuda_emulated();

// Sets the mode and thread count of every backend the registry has created (called by prism::set_mode and
// prism::set_num_threads; a backend created later starts with the runtime's current settings).
void configure_backends(Mode mode, int threads);

}  // namespace prism
