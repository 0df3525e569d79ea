// CUDA backend entry point (placeholder until the CUDA backend issue lands): probes for a GPU and reports why the
// backend cannot be used. Compiled whenever nvcc is present so CI keeps the CUDA toolchain path building.
#include <cuda_runtime.h>

#include <string>

#include "prism/backend.hpp"

namespace prism::cuda {

Backend* create_backend(std::string* why) {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    *why = std::string("no CUDA device found (cudaGetDeviceCount: ") + cudaGetErrorString(err) + ")";
    return nullptr;
  }
  *why = "the CUDA kernels are not implemented yet in this build";
  return nullptr;
}

}  // namespace prism::cuda
