// Exact-mode pooling of the CUDA backend: one thread per output (forward) or per input element (backward, a
// gather over the windows that cover it, in (oh, ow) order), each calling the reference body of
// kernels/pool.hpp. Host and device.
#pragma once
#include "cuda/exact/launch.hpp"
#include "prism/kernels/pool.hpp"

namespace prism::cuda::exact {

struct MaxPoolForward {
  float* out;
  int32_t* argmax;
  const float* in;
  Pool2dShape s;
  PRISM_HD void operator()(int64_t i) const { out[i] = kern::maxpool2d_one(in, s, i, argmax + i); }
};

struct MaxPoolBackward {
  float* din;
  const float* dout;
  const int32_t* argmax;
  Pool2dShape s;
  PRISM_HD void operator()(int64_t i) const { din[i] = kern::maxpool2d_backward_one(dout, argmax, s, i); }
};

struct AvgPoolForward {
  float* out;
  const float* in;
  Pool2dShape s;
  PRISM_HD void operator()(int64_t i) const { out[i] = kern::avgpool2d_one(in, s, i); }
};

struct AvgPoolBackward {
  float* din;
  const float* dout;
  Pool2dShape s;
  PRISM_HD void operator()(int64_t i) const { din[i] = kern::avgpool2d_backward_one(dout, s, i); }
};

template <class L>
void maxpool2d_forward(L& launch, float* out, int32_t* argmax, const float* in, const Pool2dShape& s) {
  launch.each(s.n * s.c * s.oh() * s.ow(), MaxPoolForward{out, argmax, in, s}, "maxpool2d_forward");
}

template <class L>
void maxpool2d_backward(L& launch, float* din, const float* dout, const int32_t* argmax,
                        const Pool2dShape& s) {
  launch.each(s.n * s.c * s.h * s.w, MaxPoolBackward{din, dout, argmax, s}, "maxpool2d_backward");
}

template <class L>
void avgpool2d_forward(L& launch, float* out, const float* in, const Pool2dShape& s) {
  launch.each(s.n * s.c * s.oh() * s.ow(), AvgPoolForward{out, in, s}, "avgpool2d_forward");
}

template <class L>
void avgpool2d_backward(L& launch, float* din, const float* dout, const Pool2dShape& s) {
  launch.each(s.n * s.c * s.h * s.w, AvgPoolBackward{din, dout, s}, "avgpool2d_backward");
}

}  // namespace prism::cuda::exact
