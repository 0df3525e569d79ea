// GEMM, reference definition of one output (host and device). Every exact GEMM in every backend — the blocked
// CPU kernel, the tiled CUDA kernel — must reproduce gemm_one bit for bit: same k order, same fma chain, same
// chunking.
#pragma once
#include "prism/kernels/hd.hpp"
#include "prism/kernels/params.hpp"

namespace prism::kern {

// op(A)(i, k) and op(B)(k, j) of row-major storage.
template <class T>
PRISM_HD T gemm_a(const T* A, int64_t i, int64_t k, int64_t M, int64_t K, bool trans_a) {
  return trans_a ? A[k * M + i] : A[i * K + k];
}
template <class T>
PRISM_HD T gemm_b(const T* B, int64_t k, int64_t j, int64_t N, int64_t K, bool trans_b) {
  return trans_b ? B[j * K + k] : B[k * N + j];
}

// C(i, j) = alpha · Σ_k op(A)(i,k) · op(B)(k,j), in the canonical order of `order` (see GemmOrder).
template <class T>
PRISM_HD T gemm_one(const T* A, const T* B, int64_t i, int64_t j, int64_t M, int64_t N, int64_t K,
                    bool trans_a, bool trans_b, T alpha, GemmOrder order) {
  T total = T(0);
  if (order == GemmOrder::chain) {
    for (int64_t k = 0; k < K; ++k)
      total = fma_t<T>(gemm_a(A, i, k, M, K, trans_a), gemm_b(B, k, j, N, K, trans_b), total);
  } else {
    for (int64_t k0 = 0; k0 < K; k0 += kReduceChunk) {
      int64_t k1 = k0 + kReduceChunk < K ? k0 + kReduceChunk : K;
      T part = T(0);
      for (int64_t k = k0; k < k1; ++k)
        part = fma_t<T>(gemm_a(A, i, k, M, K, trans_a), gemm_b(B, k, j, N, K, trans_b), part);
      total = k0 == 0 ? part : total + part;
    }
  }
  return alpha == T(1) ? total : alpha * total;
}

// Plain loops over every output: the reference the blocked kernels are tested against, and the
// double-precision path of the gradient checks.
template <class T>
void gemm_reference(T* C, const T* A, const T* B, int64_t M, int64_t N, int64_t K, bool trans_a, bool trans_b,
                    T alpha, GemmOrder order) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      C[i * N + j] = gemm_one(A, B, i, j, M, N, K, trans_a, trans_b, alpha, order);
}

}  // namespace prism::kern
