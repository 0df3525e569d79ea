// CPU row-wise L2 normalisation and softmax: the reference bodies of kernels/normalize.hpp, parallel over
// rows.
#include "prism/kernels/normalize.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace prism::cpu {

void CpuBackend::l2_normalize_forward(float* y, float* norm, const float* x, int64_t rows, int64_t dim,
                                      float eps) {
  parallel_each(rows, 16, [&](int64_t r) { kern::l2_normalize_row(y, norm, x, dim, eps, r); });
}

void CpuBackend::l2_normalize_backward(float* dx, const float* dy, const float* y, const float* norm,
                                       int64_t rows, int64_t dim, float eps) {
  parallel_each(rows, 16, [&](int64_t r) { kern::l2_normalize_backward_row(dx, dy, y, norm, dim, eps, r); });
}

void CpuBackend::softmax_rows(float* out, const float* in, int64_t rows, int64_t cols) {
  parallel_each(rows, 16, [&](int64_t r) { kern::softmax_row(out, in, cols, r); });
}

}  // namespace prism::cpu
