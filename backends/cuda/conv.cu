// CUDA im2col / col2im: the exact kernels of cuda/exact/conv.hpp in both modes (they only move data; col2im
// is a gather in a fixed order, so there is nothing for a fast mode to reorder).
#include "cuda/cuda_backend.hpp"
#include "cuda/exact/conv.hpp"
#include "cuda/launch.cuh"

namespace prism::cuda {

void CudaBackend::im2col(float* col, const float* in, const Conv2dShape& s) {
  Launcher launch(*this);
  exact::im2col(launch, col, in, s);
}

void CudaBackend::col2im(float* din, const float* col, const Conv2dShape& s) {
  Launcher launch(*this);
  exact::col2im(launch, din, col, s);
}

}  // namespace prism::cuda
