// CUDA optimizer updates: the exact kernels of cuda/exact/optim.hpp in both modes (elementwise, nothing to
// reorder).
#include "cuda/cuda_backend.hpp"
#include "cuda/exact/optim.hpp"
#include "cuda/launch.cuh"

namespace prism::cuda {

void CudaBackend::sgd_update(float* param, float* momentum_buf, const float* grad, int64_t n,
                             const SgdParams& p) {
  Launcher launch(*this);
  exact::sgd_update(launch, param, momentum_buf, grad, n, p);
}

void CudaBackend::adam_update(float* param, float* m, float* v, const float* grad, int64_t n,
                              const AdamParams& p) {
  Launcher launch(*this);
  exact::adam_update(launch, param, m, v, grad, n, p);
}

}  // namespace prism::cuda
