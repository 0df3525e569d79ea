// Exact-mode im2col / col2im of the CUDA backend: one thread per column element / per input element, each
// calling the reference body of kernels/conv.hpp (col2im is a gather in (ky, kx) order, no atomics). Host and
// device.
#pragma once
#include "cuda/exact/launch.hpp"
#include "prism/kernels/conv.hpp"

namespace prism::cuda::exact {

struct Im2col {
  float* col;
  const float* in;
  Conv2dShape s;
  int64_t ckk;
  PRISM_HD void operator()(int64_t idx) const { col[idx] = kern::im2col_one(in, s, idx / ckk, idx % ckk); }
};

struct Col2im {
  float* din;
  const float* col;
  Conv2dShape s;
  PRISM_HD void operator()(int64_t idx) const { din[idx] = kern::col2im_one(col, s, idx); }
};

template <class L>
void im2col(L& launch, float* col, const float* in, const Conv2dShape& s) {
  const int64_t ckk = s.c * s.kh * s.kw;
  launch.each(s.n * s.oh() * s.ow() * ckk, Im2col{col, in, s, ckk}, "im2col");
}

template <class L>
void col2im(L& launch, float* din, const float* col, const Conv2dShape& s) {
  launch.each(s.n * s.c * s.h * s.w, Col2im{din, col, s}, "col2im");
}

}  // namespace prism::cuda::exact
