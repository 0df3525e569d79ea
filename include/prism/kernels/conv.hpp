// im2col lowering of conv2d, reference definition of one element (host and device), and the direct
// convolution it must reproduce. Column index order (c, ky, kx) is the canonical k order of the conv's fma
// chain.
#pragma once
#include "prism/kernels/hd.hpp"
#include "prism/kernels/params.hpp"

namespace prism::kern {

// col[row, k] with row = (n·OH + oh)·OW + ow and k = (c·KH + ky)·KW + kx; zero outside the image.
template <class T>
PRISM_HD T im2col_one(const T* in, const Conv2dShape& s, int64_t row, int64_t k) {
  const int64_t OH = s.oh(), OW = s.ow();
  const int64_t ow = row % OW, oh = (row / OW) % OH, n = row / (OW * OH);
  const int64_t kx = k % s.kw, ky = (k / s.kw) % s.kh, c = k / (s.kw * s.kh);
  const int64_t y = oh * s.stride - s.pad + ky, x = ow * s.stride - s.pad + kx;
  if (y < 0 || y >= s.h || x < 0 || x >= s.w) return T(0);
  return in[((n * s.c + c) * s.h + y) * s.w + x];
}

// The adjoint of im2col as a gather: din[n, c, y, x] = Σ of every col entry that read (y, x), taken in the
// order of the output positions (oh, ow) ascending — i.e. taps (ky, kx) descending — added from 0. Each input
// element is owned by one thread (no atomics); the CPU streams over col rows in exactly this order.
template <class T>
PRISM_HD T col2im_one(const T* col, const Conv2dShape& s, int64_t idx) {
  const int64_t OH = s.oh(), OW = s.ow(), CKK = s.c * s.kh * s.kw;
  const int64_t x = idx % s.w, y = (idx / s.w) % s.h, c = (idx / (s.w * s.h)) % s.c,
                n = idx / (s.w * s.h * s.c);
  T total = T(0);
  for (int64_t ky = s.kh - 1; ky >= 0; --ky) {
    const int64_t ty = y + s.pad - ky;
    if (ty < 0 || ty % s.stride) continue;
    const int64_t oh = ty / s.stride;
    if (oh >= OH) continue;
    for (int64_t kx = s.kw - 1; kx >= 0; --kx) {
      const int64_t tx = x + s.pad - kx;
      if (tx < 0 || tx % s.stride) continue;
      const int64_t ow = tx / s.stride;
      if (ow >= OW) continue;
      total += col[((n * OH + oh) * OW + ow) * CKK + (c * s.kh + ky) * s.kw + kx];
    }
  }
  return total;
}

// Direct convolution, one output: out[n, co, oh, ow] = (fma chain over (c, ky, kx) of w · x) + bias[co].
// Padded taps are skipped: fma(w, 0, acc) leaves acc unchanged, so this equals the im2col + GEMM order bit
// for bit.
template <class T>
PRISM_HD T conv2d_one(const T* in, const T* w, const T* bias, const Conv2dShape& s, int64_t co, int64_t n,
                      int64_t oh, int64_t ow) {
  T acc = T(0);
  for (int64_t c = 0; c < s.c; ++c)
    for (int64_t ky = 0; ky < s.kh; ++ky)
      for (int64_t kx = 0; kx < s.kw; ++kx) {
        const int64_t y = oh * s.stride - s.pad + ky, x = ow * s.stride - s.pad + kx;
        if (y < 0 || y >= s.h || x < 0 || x >= s.w) continue;
        acc = fma_t<T>(w[((co * s.c + c) * s.kh + ky) * s.kw + kx], in[((n * s.c + c) * s.h + y) * s.w + x],
                       acc);
      }
  return bias ? acc + bias[co] : acc;
}

}  // namespace prism::kern
