// CUDA backend memory (reference = fast): the caching allocator, host↔device and device↔device copies on the
// one stream, fills (the exact fill kernels), error checking.
#include <string>

#include "cuda/cuda_backend.hpp"
#include "cuda/exact/memory.hpp"
#include "cuda/launch.cuh"
#include "prism/core/error.hpp"

namespace prism::cuda {

void check(cudaError_t err, const char* call, const char* op) {
  if (err == cudaSuccess) return;
  cudaGetLastError();  // clear a sticky launch error so the next call reports its own
  throw Error(std::string("cuda: ") + call + " failed in " + op + ": " + cudaGetErrorName(err) + " (" +
              cudaGetErrorString(err) + ")");
}

void check(cublasStatus_t status, const char* call, const char* op) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw Error(std::string("cuda: ") + call + " failed in " + op + ": " + cublasGetStatusName(status) + " (" +
              cublasGetStatusString(status) + ")");
}

// ---- caching allocator ------------------------------------------------------------------------------------

size_t DeviceAllocator::size_class(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t(1) << 20;
  if (bytes == 0) bytes = 1;
  return bytes <= kLarge ? (bytes + kSmall - 1) / kSmall * kSmall : (bytes + kLarge - 1) / kLarge * kLarge;
}

void* DeviceAllocator::alloc(size_t bytes, const char* op) {
  const size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = free_.find(cls);
  void* p = nullptr;
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    stats_.cached_bytes -= cls;
    ++stats_.reuses;
  } else {
    cudaError_t err = cudaMalloc(&p, cls);
    if (err == cudaErrorMemoryAllocation) {  // give the cached blocks back and try once more
      cudaGetLastError();
      for (auto& [size, blocks] : free_)
        for (void* b : blocks) check(cudaFree(b), "cudaFree", "allocator (releasing the cache)");
      free_.clear();
      stats_.cached_bytes = 0;
      err = cudaMalloc(&p, cls);
    }
    if (err != cudaSuccess)
      check(err, ("cudaMalloc(" + std::to_string(cls) + " bytes)").c_str(),
            (std::string(op) + " (" + std::to_string(stats_.in_use_bytes) + " bytes in use)").c_str());
    ++stats_.device_allocs;
  }
  stats_.in_use_bytes += cls;
  if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
  return p;
}

void DeviceAllocator::release(void* p, size_t bytes) {
  if (!p) return;
  const size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  free_[cls].push_back(p);
  stats_.in_use_bytes -= cls;
  stats_.cached_bytes += cls;
}

void DeviceAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [size, blocks] : free_)
    for (void* b : blocks) check(cudaFree(b), "cudaFree", "allocator empty_cache");
  free_.clear();
  stats_.cached_bytes = 0;
}

DeviceAllocator::Stats DeviceAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

DeviceAllocator::~DeviceAllocator() {
  // No throwing from a destructor: errors at teardown (a context already gone at exit) are ignored.
  for (auto& [size, blocks] : free_)
    for (void* b : blocks) cudaFree(b);
}

// ---- backend memory ---------------------------------------------------------------------------------------

void* CudaBackend::alloc(size_t bytes) {
  return alloc_.alloc(bytes, "tensor allocation");
}

void CudaBackend::dealloc(void* p, size_t bytes) {
  alloc_.release(p, bytes);
}

// From pageable host memory the copy returns once the source has been staged, so the caller may reuse it at
// once.
void CudaBackend::upload(void* dst, const void* host_src, size_t bytes) {
  if (!bytes) return;
  PRISM_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_), "upload");
}

void CudaBackend::download(void* host_dst, const void* src, size_t bytes) {
  if (!bytes) return;
  PRISM_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "download");
  PRISM_CUDA_CHECK(cudaStreamSynchronize(stream_), "download (waiting for the stream)");
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  if (!bytes || dst == src) return;
  PRISM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "copy");
}

void CudaBackend::fill_f32(float* x, float value, int64_t n) {
  Launcher launch(*this);
  exact::fill_f32(launch, x, value, n);
}

void CudaBackend::fill_i32(int32_t* x, int32_t value, int64_t n) {
  Launcher launch(*this);
  exact::fill_i32(launch, x, value, n);
}

void CudaBackend::synchronize() {
  PRISM_CUDA_CHECK(cudaStreamSynchronize(stream_), "synchronize");
}

void CudaBackend::after_launch(const char* what) {
  check(cudaGetLastError(), "kernel launch", what);
  if (sync_each_launch_)
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize (PRISM_CUDA_SYNC=1)", what);
}

}  // namespace prism::cuda
