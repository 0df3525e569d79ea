// Row-wise L2 normalisation and row softmax, reference definition per row (host and device).
#pragma once
#include "prism/kernels/elementwise.hpp"
#include "prism/kernels/reduce.hpp"

namespace prism::kern {

// norm = max(sqrt(Σ x²), eps) with Σ one fma chain over the row (a dot product, DESIGN §3 rule 2); y = x /
// norm. When Σ x² overflows (|x| ≳ 1e19 in float) while every x is finite, the row is scaled by m = max |x|
// first: y = (x/m) / sqrt(Σ (x/m)²), the sum again one fma chain, norm = m · sqrt(Σ (x/m)²) — so such rows get
// unit length instead of x / inf = 0. Rows that do not overflow never take that branch (their bits are the
// plain definition's).
template <class T>
PRISM_HD void l2_normalize_row(T* y, T* norm, const T* x, int64_t dim, T eps, int64_t r) {
  const T* xr = x + r * dim;
  T ss = T(0);
  for (int64_t j = 0; j < dim; ++j) ss = fma_t<T>(xr[j], xr[j], ss);
  T nrm = sqrt_t<T>(ss);
  if (nrm - nrm != T(0)) {  // inf (overflow, or an infinite x) or NaN
    T m = T(0);
    for (int64_t j = 0; j < dim; ++j) {
      const T a = xr[j] < T(0) ? -xr[j] : xr[j];
      m = a > m ? a : m;  // a NaN x leaves m alone; the NaN reaches y below
    }
    if (m - m == T(0) && m > T(0)) {  // every x finite: the sum overflowed
      T scaled = T(0);
      for (int64_t j = 0; j < dim; ++j) scaled = fma_t<T>(xr[j] / m, xr[j] / m, scaled);
      const T s = sqrt_t<T>(scaled);
      norm[r] = m * s;  // may itself be inf beyond the float range; y is computed without it
      for (int64_t j = 0; j < dim; ++j) y[r * dim + j] = (xr[j] / m) / s;
      return;
    }
  }
  if (!(nrm > eps)) nrm = eps;  // also catches NaN-free zero rows
  norm[r] = nrm;
  for (int64_t j = 0; j < dim; ++j) y[r * dim + j] = xr[j] / nrm;
}

// dx = (dy − y·(y·dy)) / norm, y·dy one fma chain. When the norm was clamped to eps it is a constant, dx = dy
// / eps.
template <class T>
PRISM_HD void l2_normalize_backward_row(T* dx, const T* dy, const T* y, const T* norm, int64_t dim, T eps,
                                        int64_t r) {
  const T* yr = y + r * dim;
  const T* gr = dy + r * dim;
  const T nrm = norm[r];
  if (nrm <= eps) {
    for (int64_t j = 0; j < dim; ++j) dx[r * dim + j] = gr[j] / nrm;
    return;
  }
  T dot = T(0);
  for (int64_t j = 0; j < dim; ++j) dot = fma_t<T>(yr[j], gr[j], dot);
  for (int64_t j = 0; j < dim; ++j) dx[r * dim + j] = fma_t<T>(-yr[j], dot, gr[j]) / nrm;
}

// out = exp(x − max) / Σ exp(x − max), the sum in the canonical chunks.
template <class T>
PRISM_HD void softmax_row(T* out, const T* in, int64_t cols, int64_t r) {
  const T* x = in + r * cols;
  T* o = out + r * cols;
  T mx = x[0];
  for (int64_t j = 1; j < cols; ++j) mx = x[j] > mx ? x[j] : mx;
  for (int64_t j = 0; j < cols; ++j) o[j] = exp_t<T>(x[j] - mx);
  const T total = chunked_reduce<T>(cols, [&](int64_t j, T acc) { return acc + o[j]; });
  for (int64_t j = 0; j < cols; ++j) o[j] = o[j] / total;
}

}  // namespace prism::kern
