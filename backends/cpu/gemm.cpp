// Exact-mode GEMM on the CPU (fast path of the reference kern::gemm_one, bit-identical to it): strided
// op(A), op(B) packed for the blocked driver of gemm_blocked.hpp, whose MR×NR micro-kernel (from the ISA
// variant chosen at run time, isa.hpp) vectorises across outputs (j) and keeps each output's k loop one
// sequential fma chain, in the canonical chain or chunked order. Parallel over (row block × column group)
// tiles with oneTBB; no tile's result depends on another's.
#include <algorithm>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/gemm_blocked.hpp"
#include "prism/kernels/gemm.hpp"

namespace prism::cpu {

namespace {

using blocked::MatView;

// C = op(A) · op(B) of two strided views.
struct StridedProblem {
  MatView a, b;
  void pack_a(float* dst, int64_t i0, int64_t rows, int64_t k0, int64_t kc, int64_t MR) const {
    a.pack_rows(dst, i0, rows, k0, kc, MR);
  }
  void pack_b(float* dst, int64_t j0, int64_t cols, int64_t k0, int64_t kc, int64_t NR) const {
    b.transposed().pack_rows(dst, j0, cols, k0, kc, NR);
  }
};

}  // namespace

void gemm_exact(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
                bool trans_b, float alpha, GemmOrder order, int threads) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    // The empty chain is +0, then scaled like any other output: alpha < 0 gives −0, as kern::gemm_one does.
    std::fill_n(C, M * N, alpha == 1.0f ? 0.0f : alpha * 0.0f);
    return;
  }
  const MatView a{A, trans_a ? 1 : K, trans_a ? M : 1};
  const MatView b{B, trans_b ? 1 : N, trans_b ? K : 1};
  if (blocked::swap_pays(M, N)) {
    std::vector<float> t(static_cast<size_t>(M * N));
    blocked::gemm_run(StridedProblem{MatView{b.p, b.cs, b.rs}, MatView{a.p, a.cs, a.rs}},
                      blocked::DenseOut{t.data(), M}, N, M, K, order, threads);
    blocked::for_each_task(M, threads, [&](int64_t i) {
      for (int64_t j = 0; j < N; ++j) C[i * N + j] = t[j * M + i];
    });
  } else {
    blocked::gemm_run(StridedProblem{a, b}, blocked::DenseOut{C, N}, M, N, K, order, threads);
  }
  if (alpha != 1.0f) {
    blocked::for_each_task(M, threads, [&](int64_t i) {
      for (int64_t j = 0; j < N; ++j) C[i * N + j] = alpha * C[i * N + j];
    });
  }
}

void CpuBackend::gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
                      bool trans_b, float alpha, GemmOrder order) {
  if (mode() == Mode::exact)
    gemm_exact(C, A, B, M, N, K, trans_a, trans_b, alpha, order, num_threads());
  else
    gemm_fast(C, A, B, M, N, K, trans_a, trans_b, alpha, num_threads());
}

}  // namespace prism::cpu
