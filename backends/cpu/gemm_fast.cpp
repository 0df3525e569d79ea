// Fast-mode GEMM on the CPU: Eigen's GEBP kernel, split across oneTBB threads by column (or row) blocks.
// Eigen's k blocking and summation order differ from the canonical chain, so results agree with exact mode
// only within rounding (tolerance in tests/test_parity.cpp).
#include <tbb/parallel_for.h>

#include <Eigen/Core>
#include <algorithm>

#include "cpu/cpu_backend.hpp"

namespace prism::cpu {

namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ColMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using Stride = Eigen::OuterStride<>;

// op(A) as an Eigen expression over row-major storage: a transposed row-major matrix is a column-major one.
template <class F>
void with_op(const float* p, int64_t rows, int64_t cols, bool trans, F&& f) {
  if (trans)
    f(Eigen::Map<const ColMat>(p, rows, cols));
  else
    f(Eigen::Map<const RowMat>(p, rows, cols));
}
}  // namespace

void gemm_fast(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
               bool trans_b, float alpha, int threads) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    std::fill_n(C, M * N, 0.0f);
    return;
  }
  // Split the larger output side into one block per thread, each a separate Eigen product.
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(threads, (M * N * K) >> 18));
  const bool split_cols = N >= M;
  const int64_t extent = split_cols ? N : M;
  const int64_t step = ((extent + parts - 1) / parts + 15) / 16 * 16;
  tbb::parallel_for(int64_t(0), parts, [&](int64_t part) {
    const int64_t lo = part * step, hi = std::min(extent, lo + step);
    if (lo >= hi) return;
    with_op(A, M, K, trans_a, [&](const auto& a) {
      with_op(B, K, N, trans_b, [&](const auto& b) {
        Eigen::Map<RowMat, 0, Stride> c(C + (split_cols ? lo : lo * N), split_cols ? M : hi - lo,
                                        split_cols ? hi - lo : N, Stride(N));
        if (split_cols)
          c.noalias() = alpha * (a * b.middleCols(lo, hi - lo));
        else
          c.noalias() = alpha * (a.middleRows(lo, hi - lo) * b);
      });
    });
  });
}

}  // namespace prism::cpu
