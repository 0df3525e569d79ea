// Max and average pooling, reference definition of one output (forward) and one input (backward, as a
// gather), host and device. Planes are [N·C] × H × W; argmax holds the index y·W + x inside the plane.
#pragma once
#include "prism/kernels/hd.hpp"
#include "prism/kernels/params.hpp"

namespace prism::kern {

// Whether tap value v replaces the running maximum: the first valid tap always does, then strictly greater
// values, and a NaN replaces a non-NaN maximum (so NaN propagates). Shared by every max-pool loop.
template <class T>
PRISM_HD bool maxpool_takes(T v, T best, int32_t arg) {
  return static_cast<bool>(
      static_cast<int>(arg < 0) | static_cast<int>(v > best) |
      (static_cast<int>(v != v) & static_cast<int>(best == best)));  // bitwise: no branches
}
template <class T>
PRISM_HD T maxpool_result(T best, int32_t arg) {
  return arg < 0 ? -T(1) / T(0) : best;
}

// Max over the window; the first maximum in (ky, kx) order wins ties (strict >); padding never wins.
// A window with no valid tap (impossible for pad < k) yields −inf and argmax −1.
template <class T>
PRISM_HD T maxpool2d_one(const T* in, const Pool2dShape& s, int64_t idx, int32_t* argmax) {
  const int64_t OH = s.oh(), OW = s.ow();
  const int64_t ow = idx % OW, oh = (idx / OW) % OH, plane = idx / (OW * OH);
  const T* p = in + plane * s.h * s.w;
  T best = T(0);
  int32_t arg = -1;
  for (int64_t ky = 0; ky < s.k; ++ky)
    for (int64_t kx = 0; kx < s.k; ++kx) {
      const int64_t y = oh * s.stride - s.pad + ky, x = ow * s.stride - s.pad + kx;
      if (y < 0 || y >= s.h || x < 0 || x >= s.w) continue;
      const T v = p[y * s.w + x];
      if (maxpool_takes(v, best, arg)) {
        best = v;
        arg = static_cast<int32_t>(y * s.w + x);
      }
    }
  *argmax = arg;
  return maxpool_result(best, arg);
}

// Windows covering input coordinate y: oh in [lo, hi].
PRISM_HD void pool_windows(int64_t y, int64_t k, int64_t stride, int64_t pad, int64_t out, int64_t* lo,
                           int64_t* hi) {
  const int64_t t = y + pad;
  int64_t l = t - k + 1 <= 0 ? 0 : (t - k + 1 + stride - 1) / stride;
  int64_t h = t / stride;
  *lo = l;
  *hi = h < out - 1 ? h : out - 1;
}

// din at input idx = Σ over windows (oh, ow ascending) whose argmax is this element, of dout.
template <class T>
PRISM_HD T maxpool2d_backward_one(const T* dout, const int32_t* argmax, const Pool2dShape& s, int64_t idx) {
  const int64_t OH = s.oh(), OW = s.ow();
  const int64_t x = idx % s.w, y = (idx / s.w) % s.h, plane = idx / (s.w * s.h);
  int64_t oh0, oh1, ow0, ow1;
  pool_windows(y, s.k, s.stride, s.pad, OH, &oh0, &oh1);
  pool_windows(x, s.k, s.stride, s.pad, OW, &ow0, &ow1);
  const int32_t me = static_cast<int32_t>(y * s.w + x);
  T total = T(0);
  for (int64_t oh = oh0; oh <= oh1; ++oh)
    for (int64_t ow = ow0; ow <= ow1; ++ow) {
      const int64_t o = (plane * OH + oh) * OW + ow;
      if (argmax[o] == me) total += dout[o];
    }
  return total;
}

// The divisor of output window (oh, ow) with padding counted (torch's count_include_pad = True): k² except
// for a ceil-mode window that hangs past the bottom/right padding, which counts only the part inside it.
PRISM_HD int64_t avgpool_divisor(const Pool2dShape& s, int64_t oh, int64_t ow) {
  const int64_t y0 = oh * s.stride - s.pad, x0 = ow * s.stride - s.pad;
  const int64_t y1 = y0 + s.k < s.h + s.pad ? y0 + s.k : s.h + s.pad;
  const int64_t x1 = x0 + s.k < s.w + s.pad ? x0 + s.k : s.w + s.pad;
  return (y1 - y0) * (x1 - x0);
}

// Mean over the k×k window counting padding (torch's count_include_pad = True): Σ in order from 0, then ÷ the
// divisor (k², see avgpool_divisor).
template <class T>
PRISM_HD T avgpool2d_one(const T* in, const Pool2dShape& s, int64_t idx) {
  const int64_t OH = s.oh(), OW = s.ow();
  const int64_t ow = idx % OW, oh = (idx / OW) % OH, plane = idx / (OW * OH);
  const T* p = in + plane * s.h * s.w;
  T total = T(0);
  for (int64_t ky = 0; ky < s.k; ++ky)
    for (int64_t kx = 0; kx < s.k; ++kx) {
      const int64_t y = oh * s.stride - s.pad + ky, x = ow * s.stride - s.pad + kx;
      if (y < 0 || y >= s.h || x < 0 || x >= s.w) continue;
      total += p[y * s.w + x];
    }
  return total / T(avgpool_divisor(s, oh, ow));
}

template <class T>
PRISM_HD T avgpool2d_backward_one(const T* dout, const Pool2dShape& s, int64_t idx) {
  const int64_t OH = s.oh(), OW = s.ow();
  const int64_t x = idx % s.w, y = (idx / s.w) % s.h, plane = idx / (s.w * s.h);
  int64_t oh0, oh1, ow0, ow1;
  pool_windows(y, s.k, s.stride, s.pad, OH, &oh0, &oh1);
  pool_windows(x, s.k, s.stride, s.pad, OW, &ow0, &ow1);
  T total = T(0);
  if (!s.ceil) {  // every divisor is k²: Σ dout, then one division
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) total += dout[(plane * OH + oh) * OW + ow];
    return total / T(s.k * s.k);
  }
  for (int64_t oh = oh0; oh <= oh1; ++oh)
    for (int64_t ow = ow0; ow <= ow1; ++ow)
      total += dout[(plane * OH + oh) * OW + ow] / T(avgpool_divisor(s, oh, ow));
  return total;
}

}  // namespace prism::kern
