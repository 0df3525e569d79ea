// Host/device portability: PRISM_HD marks functions that compile for the CPU and for CUDA,
// so one definition of each output's arithmetic serves both backends (reference code).
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define PRISM_HD __host__ __device__ __forceinline__
#else
#define PRISM_HD inline
#endif

namespace prism::kern {

// Fixed chunk for every long reduction in exact mode (DESIGN §3 rule 3). Never depends on thread count.
inline constexpr int64_t kReduceChunk = 256;

PRISM_HD uint32_t float_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}
PRISM_HD float bits_float(uint32_t u) {
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

// nvcc compiles a PRISM_HD function twice: the device pass (__CUDA_ARCH__ defined) may call device
// intrinsics, the host pass may not.
PRISM_HD float fmaf_hd(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return __builtin_fmaf(a, b, c);
#endif
}
PRISM_HD double fma_hd(double a, double b, double c) {
#if defined(__CUDA_ARCH__)
  return __fma_rn(a, b, c);
#else
  return __builtin_fma(a, b, c);
#endif
}

// Scalar-generic fused multiply-add, so reference kernels templated on T run in float and double.
template <class T>
PRISM_HD T fma_t(T a, T b, T c);
template <>
PRISM_HD float fma_t<float>(float a, float b, float c) {
  return fmaf_hd(a, b, c);
}
template <>
PRISM_HD double fma_t<double>(double a, double b, double c) {
  return fma_hd(a, b, c);
}

}  // namespace prism::kern
