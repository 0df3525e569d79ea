// The real launcher of the CUDA backend's exact kernels (the CPU twin is cuda/emulator.hpp): two __global__
// wrappers that only compute thread coordinates and call the kernel bodies of cuda/exact/*.hpp, and the
// Launcher the exact orchestrations are instantiated with. nvcc only.
#pragma once
#include "cuda/cuda_backend.hpp"
#include "cuda/exact/launch.hpp"

namespace prism::cuda {

// One logical thread per index, grid-stride (the emulator walks the same loop).
template <class F>
__global__ void __launch_bounds__(kEachThreads) each_kernel(int64_t n, F f) {
  const int64_t stride = int64_t(gridDim.x) * kEachThreads;
  for (int64_t i = int64_t(blockIdx.x) * kEachThreads + threadIdx.x; i < n; i += stride) f(i);
}

// The phase program of a block-cooperative kernel (see cuda/exact/launch.hpp).
template <class K>
__global__ void __launch_bounds__(K::kThreads) phased_kernel(K k) {
  __shared__ typename K::Shared shared;
  typename K::Regs regs;
  const ThreadIdx t{blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x};
  k.begin(regs, t);
  const int64_t steps = k.steps(t);
  for (int64_t s = 0; s < steps; ++s) {
    k.load(shared, t, s);
    __syncthreads();
    k.compute(regs, shared, t, s);
    __syncthreads();
  }
  k.end(regs, t);
}

class Launcher {
 public:
  // Device scratch from the caching allocator, returned when the op's host code leaves scope (safe: the
  // kernels that use it are queued on the one stream before any later user of the block).
  class Scratch {
   public:
    Scratch(CudaBackend& be, int64_t count)
        : be_(be), bytes_(static_cast<size_t>(count > 0 ? count : 1) * 4) {
      p_ = static_cast<float*>(be_.allocator().alloc(bytes_, "scratch"));
    }
    ~Scratch() { be_.allocator().release(p_, bytes_); }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    float* data() { return p_; }

   private:
    CudaBackend& be_;
    size_t bytes_;
    float* p_;
  };

  explicit Launcher(CudaBackend& be) : be_(be) {}

  template <class F>
  void each(int64_t n, const F& f, const char* what) {
    if (n <= 0) return;
    each_kernel<<<each_blocks(n), kEachThreads, 0, be_.stream()>>>(n, f);
    be_.after_launch(what);
  }

  template <class K>
  void phased(Grid g, const K& k, const char* what) {
    if (!g.x || !g.y || !g.z) return;
    phased_kernel<<<dim3(g.x, g.y, g.z), K::kThreads, 0, be_.stream()>>>(k);
    be_.after_launch(what);
  }

  Scratch scratch(int64_t count) { return Scratch(be_, count); }

 private:
  CudaBackend& be_;
};

}  // namespace prism::cuda
