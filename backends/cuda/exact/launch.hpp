// Launch shapes of the CUDA backend's exact kernels, shared by the real launcher (cuda/launch.cuh) and the
// CPU launch emulator (cuda/emulator.hpp): the thread coordinates a kernel body sees and the grid each launch
// uses. Host and device, C++17 (nvcc compiles it as C++17, the tests as C++20).
//
// Two launch shapes cover every exact kernel:
//   each(n, f)       one logical thread per index i in [0, n): f(i) computes one output (or one chunk
//   partial) by
//                    calling a PRISM_HD body of include/prism/kernels. Grid-stride loop, kEachThreads per
//                    block.
//   phased(grid, k)  a block-cooperative kernel with shared memory (the tiled GEMM). Its body is cut at every
//                    __syncthreads() into phases, so the emulator can run each phase for all threads of a
//                    block before the next one starts:
//                      begin(regs, t); for s < steps(t): { load(shared, t, s); sync; compute(regs, shared, t,
//                      s); sync; } end(regs, t)
//                    `Shared` and `Regs` are plain structs (trivially constructible); steps(t) depends on the
//                    block only. A kernel that needs another phase structure adds a launch shape here.
#pragma once
#include <cstdint>

#include "prism/kernels/hd.hpp"

namespace prism::cuda {

inline constexpr int kEachThreads = 256;
// Upper bound on the blocks of an each-launch; larger n is covered by the grid-stride loop.
inline constexpr int64_t kEachMaxBlocks = 1 << 16;

struct Grid {
  uint32_t x = 1, y = 1, z = 1;
};

// What a phased kernel body knows about its thread: block coordinates and the thread index in its 1-D block.
struct ThreadIdx {
  uint32_t bx, by, bz;
  uint32_t tx;
};

PRISM_HD int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Blocks of an each-launch over n indices.
PRISM_HD uint32_t each_blocks(int64_t n) {
  const int64_t b = ceil_div(n, kEachThreads);
  return static_cast<uint32_t>(b < kEachMaxBlocks ? b : kEachMaxBlocks);
}

}  // namespace prism::cuda
