// Exact-mode row-wise L2 normalisation and softmax of the CUDA backend: one thread per row, calling the
// reference bodies of kernels/normalize.hpp (the row's dot product is one fma chain, as DESIGN §3 rule 2
// asks, so a row is never split across threads). Host and device.
#pragma once
#include "cuda/exact/launch.hpp"
#include "prism/kernels/normalize.hpp"

namespace prism::cuda::exact {

struct L2NormalizeRow {
  float* y;
  float* norm;
  const float* x;
  int64_t dim;
  float eps;
  PRISM_HD void operator()(int64_t r) const { kern::l2_normalize_row(y, norm, x, dim, eps, r); }
};

struct L2NormalizeBackwardRow {
  float* dx;
  const float* dy;
  const float* y;
  const float* norm;
  int64_t dim;
  float eps;
  PRISM_HD void operator()(int64_t r) const { kern::l2_normalize_backward_row(dx, dy, y, norm, dim, eps, r); }
};

struct SoftmaxRow {
  float* out;
  const float* in;
  int64_t cols;
  PRISM_HD void operator()(int64_t r) const { kern::softmax_row(out, in, cols, r); }
};

template <class L>
void l2_normalize_forward(L& launch, float* y, float* norm, const float* x, int64_t rows, int64_t dim,
                          float eps) {
  launch.each(rows, L2NormalizeRow{y, norm, x, dim, eps}, "l2_normalize_forward");
}

template <class L>
void l2_normalize_backward(L& launch, float* dx, const float* dy, const float* y, const float* norm,
                           int64_t rows, int64_t dim, float eps) {
  launch.each(rows, L2NormalizeBackwardRow{dx, dy, y, norm, dim, eps}, "l2_normalize_backward");
}

template <class L>
void softmax_rows(L& launch, float* out, const float* in, int64_t rows, int64_t cols) {
  if (cols <= 0) return;
  launch.each(rows, SoftmaxRow{out, in, cols}, "softmax_rows");
}

}  // namespace prism::cuda::exact
