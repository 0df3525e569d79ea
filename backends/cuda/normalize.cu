// CUDA row-wise L2 normalisation and softmax: the exact kernels of cuda/exact/normalize.hpp in both modes
// (one thread per row; the rows of the nets here are short, so a row-parallel fast version would gain
// little).
#include "cuda/cuda_backend.hpp"
#include "cuda/exact/normalize.hpp"
#include "cuda/launch.cuh"

namespace prism::cuda {

void CudaBackend::l2_normalize_forward(float* y, float* norm, const float* x, int64_t rows, int64_t dim,
                                       float eps) {
  Launcher launch(*this);
  exact::l2_normalize_forward(launch, y, norm, x, rows, dim, eps);
}

void CudaBackend::l2_normalize_backward(float* dx, const float* dy, const float* y, const float* norm,
                                        int64_t rows, int64_t dim, float eps) {
  Launcher launch(*this);
  exact::l2_normalize_backward(launch, dx, dy, y, norm, rows, dim, eps);
}

void CudaBackend::softmax_rows(float* out, const float* in, int64_t rows, int64_t cols) {
  Launcher launch(*this);
  exact::softmax_rows(launch, out, in, rows, cols);
}

}  // namespace prism::cuda
