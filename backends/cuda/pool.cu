// CUDA pooling: the exact kernels of cuda/exact/pool.hpp in both modes (window maxima and sums in a fixed
// order; the backward passes are gathers, so no atomics and nothing for a fast mode to gain by reordering).
#include "cuda/cuda_backend.hpp"
#include "cuda/exact/pool.hpp"
#include "cuda/launch.cuh"

namespace prism::cuda {

void CudaBackend::maxpool2d_forward(float* out, int32_t* argmax, const float* in, const Pool2dShape& s) {
  Launcher launch(*this);
  exact::maxpool2d_forward(launch, out, argmax, in, s);
}

void CudaBackend::maxpool2d_backward(float* din, const float* dout, const int32_t* argmax,
                                     const Pool2dShape& s) {
  Launcher launch(*this);
  exact::maxpool2d_backward(launch, din, dout, argmax, s);
}

void CudaBackend::avgpool2d_forward(float* out, const float* in, const Pool2dShape& s) {
  Launcher launch(*this);
  exact::avgpool2d_forward(launch, out, in, s);
}

void CudaBackend::avgpool2d_backward(float* din, const float* dout, const Pool2dShape& s) {
  Launcher launch(*this);
  exact::avgpool2d_backward(launch, din, dout, s);
}

}  // namespace prism::cuda
