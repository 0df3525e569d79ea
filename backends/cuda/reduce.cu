// CUDA reductions and transpose. Exact: chunk partials + in-order sums (cuda/exact/reduce.hpp), bit-identical
// to the CPU. Fast: free-order block reductions (cuda/fast.cuh). Transpose is a pure move, the same in both
// modes.
#include "cuda/cuda_backend.hpp"
#include "cuda/exact/memory.hpp"
#include "cuda/exact/reduce.hpp"
#include "cuda/fast.cuh"
#include "cuda/launch.cuh"

namespace prism::cuda {

void CudaBackend::reduce_sum(float* out1, const float* in, int64_t n) {
  Launcher launch(*this);
  if (mode() == Mode::exact || n <= 0) {
    exact::reduce_sum(launch, out1, in, n);
    return;
  }
  fast::sum_mid(*this, out1, fast::Plain{in}, 1, 1, n, 1.0f, "reduce_sum (fast)");
}

void CudaBackend::reduce_mid(float* out, const float* in, int64_t outer, int64_t mid, int64_t inner) {
  Launcher launch(*this);
  if (mode() == Mode::exact || outer * inner <= 0) {
    exact::reduce_mid(launch, out, in, outer, mid, inner);
    return;
  }
  fast::sum_mid(*this, out, fast::Plain{in}, outer, mid, inner, 1.0f, "reduce_mid (fast)");
}

void CudaBackend::reduce_inner(float* out, const float* in, int64_t outer, int64_t inner) {
  Launcher launch(*this);
  if (mode() == Mode::exact || inner <= 0) {
    exact::reduce_inner(launch, out, in, outer, inner);
    return;
  }
  fast::sum_mid(*this, out, fast::Plain{in}, 1, outer, inner, 1.0f, "reduce_inner (fast)");
}

void CudaBackend::transpose(float* out, const float* in, int64_t batch, int64_t rows, int64_t cols) {
  Launcher launch(*this);
  exact::transpose(launch, out, in, batch, rows, cols);
}

}  // namespace prism::cuda
