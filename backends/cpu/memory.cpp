// CPU backend memory: 64-byte aligned host allocations, copies and fills (reference = fast here).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cpu/cpu_backend.hpp"
#include "prism/core/error.hpp"

namespace prism::cpu {

void* CpuBackend::alloc(size_t bytes) {
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!p) throw Error("cpu: out of memory allocating " + std::to_string(bytes) + " bytes");
  return p;
}
void CpuBackend::dealloc(void* p, size_t) {
  std::free(p);
}
void CpuBackend::upload(void* dst, const void* src, size_t bytes) {
  std::memcpy(dst, src, bytes);
}
void CpuBackend::download(void* dst, const void* src, size_t bytes) {
  std::memcpy(dst, src, bytes);
}
void CpuBackend::copy(void* dst, const void* src, size_t bytes) {
  std::memmove(dst, src, bytes);
}
void CpuBackend::fill_f32(float* x, float value, int64_t n) {
  std::fill_n(x, n, value);
}
void CpuBackend::fill_i32(int32_t* x, int32_t value, int64_t n) {
  std::fill_n(x, n, value);
}

}  // namespace prism::cpu
