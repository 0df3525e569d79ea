// CPU im2col / col2im: the element definitions of kernels/conv.hpp walked with the index arithmetic hoisted
// (per output row for im2col; per image, row-streaming for col2im). im2col only moves data; col2im adds each
// pixel's terms in the same (oh, ow)-ascending order as kern::col2im_one, so both are bit-identical to the
// reference bodies (tests/test_parity.cpp). Exact and fast modes share them.
#include <algorithm>

#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"
#include "prism/kernels/conv.hpp"

namespace prism::cpu {

void CpuBackend::im2col(float* col, const float* in, const Conv2dShape& s) {
  const int64_t OH = s.oh(), OW = s.ow(), ckk = s.c * s.kh * s.kw;
  parallel_each(s.n * OH, 8, [&](int64_t n_oh) {
    const int64_t n = n_oh / OH, oh = n_oh % OH;
    for (int64_t ow = 0; ow < OW; ++ow) {
      float* row = col + (n_oh * OW + ow) * ckk;
      const int64_t y0 = oh * s.stride - s.pad, x0 = ow * s.stride - s.pad;
      for (int64_t c = 0; c < s.c; ++c) {
        const float* plane = in + (n * s.c + c) * s.h * s.w;
        for (int64_t ky = 0; ky < s.kh; ++ky) {
          const int64_t y = y0 + ky;
          float* dst = row + (c * s.kh + ky) * s.kw;
          if (y < 0 || y >= s.h) {
            std::fill_n(dst, s.kw, 0.0f);
            continue;
          }
          const float* src = plane + y * s.w;
          if (x0 >= 0 && x0 + s.kw <= s.w) {  // interior: no bounds to check
            for (int64_t kx = 0; kx < s.kw; ++kx) dst[kx] = src[x0 + kx];
            continue;
          }
          for (int64_t kx = 0; kx < s.kw; ++kx) {
            const int64_t x = x0 + kx;
            dst[kx] = (x < 0 || x >= s.w) ? 0.0f : src[x];
          }
        }
      }
    }
  });
}

// Per image: zero the gradient, then stream over the image's col rows (oh, ow) in order and add each entry
// into the pixel it was read from. A pixel's terms arrive in (oh, ow)-ascending order from 0: the order of
// kern::col2im_one. Reads are contiguous; writes stay inside one image's planes (cache-resident).
void CpuBackend::col2im(float* din, const float* col, const Conv2dShape& s) {
  const int64_t OH = s.oh(), OW = s.ow(), ckk = s.c * s.kh * s.kw, HW = s.h * s.w;
  parallel_each(s.n, 1, [&](int64_t n) {
    float* image = din + n * s.c * HW;
    std::fill_n(image, s.c * HW, 0.0f);
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const float* row = col + ((n * OH + oh) * OW + ow) * ckk;
        const int64_t y0 = oh * s.stride - s.pad, x0 = ow * s.stride - s.pad;
        for (int64_t c = 0; c < s.c; ++c)
          for (int64_t ky = 0; ky < s.kh; ++ky) {
            const int64_t y = y0 + ky;
            if (y < 0 || y >= s.h) continue;
            float* dst = image + c * HW + y * s.w;
            const float* src = row + (c * s.kh + ky) * s.kw;
            if (x0 >= 0 && x0 + s.kw <= s.w) {  // interior: no bounds to check
              for (int64_t kx = 0; kx < s.kw; ++kx) dst[x0 + kx] += src[kx];
              continue;
            }
            for (int64_t kx = 0; kx < s.kw; ++kx) {
              const int64_t x = x0 + kx;
              if (x >= 0 && x < s.w) dst[x] += src[kx];
            }
          }
      }
  });
}

}  // namespace prism::cpu
