// CUDA GEMM. Exact: the tiled FMA-chain kernel of cuda/exact/gemm.hpp (chain order in one launch, chunked
// order as split-k by the canonical chunks + an in-order fold) — bit-identical to kern::gemm_one and the
// CPU's blocked GEMM. Fast: cuBLAS SGEMM in FP32 (CUBLAS_DEFAULT_MATH, no TF32), row-major through the
// transposed-operand identity Cᵀ = op(B)ᵀ·op(A)ᵀ: a row-major matrix is its column-major transpose, so no
// data moves.
#include "cuda/cuda_backend.hpp"
#include "cuda/exact/gemm.hpp"
#include "cuda/launch.cuh"

namespace prism::cuda {

void CudaBackend::gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
                       bool trans_a, bool trans_b, float alpha, GemmOrder order) {
  Launcher launch(*this);
  if (mode() == Mode::exact || M <= 0 || N <= 0 || K <= 0) {
    exact::gemm(launch, C, A, B, M, N, K, trans_a, trans_b, alpha, order);
    return;
  }
  const float beta = 0.0f;
  // Column-major view: C' (N×M, ld N) = op'(B) (N×K) · op'(A) (K×M).
  PRISM_CUDA_CHECK(
      cublasSgemm_64(cublas_, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M,
                     K, &alpha, B, trans_b ? K : N, A, trans_a ? M : K, &beta, C, N),
      "gemm (fast)");
}

}  // namespace prism::cuda
