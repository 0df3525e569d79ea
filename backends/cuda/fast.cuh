// Fast-mode reductions of the CUDA backend (free order: warp shuffles and a tree per block, then one warp
// over the block partials). Deterministic for a given shape and GPU, but not in the canonical order, so they
// agree with exact mode only within rounding. One pair of kernels serves every per-channel sum: the summed
// term is a functor term(element_index, channel) over an [outer, mid, inner] array, reduced over (o, i) for
// each channel m. nvcc only.
#pragma once
#include "cuda/cuda_backend.hpp"
#include "cuda/exact/launch.hpp"

namespace prism::cuda::fast {

inline constexpr int kThreads = 256;

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

// Sum over the block; the result is valid in thread 0.
__device__ __forceinline__ float block_sum(float v) {
  __shared__ float warp_sums[kThreads / 32];
  v = warp_sum(v);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  v = threadIdx.x < kThreads / 32 ? warp_sums[threadIdx.x] : 0.0f;
  if (warp == 0) v = warp_sum(v);
  return v;
}

// parts[m·splits + s] = Σ term over split s of channel m's axis t = o·inner + i. Grid (mid, splits).
template <class Term>
__global__ void __launch_bounds__(kThreads)
    mid_partials(float* parts, Term term, int64_t outer, int64_t mid, int64_t inner, int64_t splits) {
  const int64_t m = blockIdx.x, s = blockIdx.y, len = outer * inner;
  const int64_t per = ceil_div(len, splits), t0 = s * per, t1 = t0 + per < len ? t0 + per : len;
  float acc = 0.0f;
  if (outer == 1) {
    for (int64_t t = t0 + threadIdx.x; t < t1; t += kThreads) acc += term(m * inner + t, m);
  } else {
    for (int64_t t = t0 + threadIdx.x; t < t1; t += kThreads)
      acc += term((t / inner) * mid * inner + m * inner + t % inner, m);
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) parts[m * splits + s] = acc;
}

// out[m] = (Σ_s parts[m·splits + s]) / divisor, one warp per channel. Static: one copy per .cu that includes
// this.
static __global__ void __launch_bounds__(kThreads)
    finish_partials(float* out, const float* parts, int64_t mid, int64_t splits, float divisor) {
  const int64_t m = int64_t(blockIdx.x) * (kThreads / 32) + threadIdx.x / 32;
  if (m >= mid) return;
  float acc = 0.0f;
  for (int64_t s = threadIdx.x % 32; s < splits; s += 32) acc += parts[m * splits + s];
  acc = warp_sum(acc);
  if (threadIdx.x % 32 == 0) out[m] = acc / divisor;
}

struct Plain {
  const float* x;
  __device__ float operator()(int64_t i, int64_t) const { return x[i]; }
};

// out[m] = Σ_{o,i} term(·, m) / divisor for every channel m, in two launches.
template <class Term>
void sum_mid(CudaBackend& be, float* out, Term term, int64_t outer, int64_t mid, int64_t inner, float divisor,
             const char* what) {
  if (mid <= 0) return;
  const int64_t len = outer * inner;
  int64_t splits = ceil_div(len, 4096);
  splits = splits < 1 ? 1 : splits > 256 ? 256 : splits;
  float* parts = static_cast<float*>(be.allocator().alloc(mid * splits * 4, what));
  mid_partials<<<dim3(static_cast<uint32_t>(mid), static_cast<uint32_t>(splits)), kThreads, 0, be.stream()>>>(
      parts, term, outer, mid, inner, splits);
  be.after_launch(what);
  finish_partials<<<static_cast<uint32_t>(ceil_div(mid, kThreads / 32)), kThreads, 0, be.stream()>>>(
      out, parts, mid, splits, divisor);
  be.after_launch(what);
  be.allocator().release(parts, mid * splits * 4);
}

}  // namespace prism::cuda::fast
