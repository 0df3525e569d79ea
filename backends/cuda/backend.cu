// CUDA backend entry point and lifetime: picks device 0, creates the one stream and the cuBLAS handle (FP32
// math, no TF32), and reports in plain words why the backend cannot be used when there is no GPU.
#include <cstdlib>
#include <string>

#include "cuda/cuda_backend.hpp"

namespace prism::cuda {

CudaBackend::CudaBackend(int device) : device_(device) {
  PRISM_CUDA_CHECK(cudaSetDevice(device_), "backend start");
  cudaDeviceProp prop;
  PRISM_CUDA_CHECK(cudaGetDeviceProperties(&prop, device_), "backend start");
  name_ = prop.name;
  if (const char* s = std::getenv("PRISM_CUDA_SYNC")) sync_each_launch_ = s[0] == '1';
  PRISM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "backend start");
  PRISM_CUDA_CHECK(cublasCreate(&cublas_), "backend start");
  PRISM_CUDA_CHECK(cublasSetStream(cublas_, stream_), "backend start");
  // CUBLAS_DEFAULT_MATH: SGEMM computes in FP32 on the CUDA cores; TF32 tensor cores would need
  // CUBLAS_TF32_TENSOR_OP_MATH, which fast mode does not ask for (its tolerance assumes FP32 products).
  PRISM_CUDA_CHECK(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH), "backend start");
}

CudaBackend::~CudaBackend() {
  // Teardown errors are ignored: at process exit the context may already be gone.
  if (cublas_) cublasDestroy(cublas_);
  if (stream_) cudaStreamDestroy(stream_);
}

// Called once by backends/registry.cpp; the backend lives until the process exits.
Backend* create_backend(std::string* why) {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    *why = err != cudaSuccess
               ? std::string("no usable CUDA device (cudaGetDeviceCount: ") + cudaGetErrorString(err) + ")"
               : std::string("no CUDA device found");
    cudaGetLastError();
    return nullptr;
  }
  try {
    return new CudaBackend(0);
  } catch (const std::exception& e) {
    *why = std::string("the CUDA backend could not start: ") + e.what();
    return nullptr;
  }
}

}  // namespace prism::cuda
