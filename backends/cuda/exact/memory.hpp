// Exact-mode fills of the CUDA backend (reference = fast: they only store a value). Host and device.
#pragma once
#include "cuda/exact/gemm.hpp"
#include "cuda/exact/launch.hpp"

namespace prism::cuda::exact {

struct FillI32 {
  int32_t* x;
  int32_t value;
  PRISM_HD void operator()(int64_t i) const { x[i] = value; }
};

template <class L>
void fill_f32(L& launch, float* x, float value, int64_t n) {
  launch.each(n, FillF32{x, value}, "fill_f32");
}

template <class L>
void fill_i32(L& launch, int32_t* x, int32_t value, int64_t n) {
  launch.each(n, FillI32{x, value}, "fill_i32");
}

}  // namespace prism::cuda::exact
