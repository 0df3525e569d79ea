// CPU pooling: the arithmetic of kernels/pool.hpp. Max pooling is walked per plane with the index arithmetic
// hoisted (same comparisons in the same order as kern::maxpool2d_one); its backward is a per-plane scatter in
// output order, which adds each input's terms in the (oh, ow)-ascending order of
// kern::maxpool2d_backward_one, from 0 — bit-identical to the gather. Average pooling uses the reference
// bodies directly.
#include <algorithm>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"
#include "prism/kernels/pool.hpp"

namespace prism::cpu {

namespace {
#if defined(__AVX512F__)
// The common 2×2 / stride 2 / no padding window, 16 outputs of a row at a time: the four taps are visited in
// (ky, kx) order with the selection rule of kern::maxpool_takes written with mask registers (first tap taken,
// then strictly greater, or a NaN over a non-NaN), so outputs and argmax equal the reference bit for bit.
// Scalar code runs ~15 ns per output here (short rows defeat auto-vectorisation); this runs ~1 ns.
void maxpool_2x2_plane(float* out, int32_t* argmax, const float* p, int64_t W, int64_t OH, int64_t OW) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ow0 = 0; ow0 < OW; ow0 += 16) {
      const int64_t n = std::min<int64_t>(16, OW - ow0), cols = 2 * n;
      const __mmask16 out_mask = static_cast<__mmask16>((1u << n) - 1);
      const __mmask16 lo_mask = static_cast<__mmask16>(cols >= 16 ? 0xffffu : (1u << cols) - 1);
      const __mmask16 hi_mask = static_cast<__mmask16>(cols <= 16 ? 0u : (1u << (cols - 16)) - 1);
      __m512 best = _mm512_setzero_ps();
      __m512i arg = _mm512_set1_epi32(-1);
      for (int ky = 0; ky < 2; ++ky) {
        const int64_t y = 2 * oh + ky;
        const float* row = p + y * W + 2 * ow0;
        const __m512 lo = _mm512_maskz_loadu_ps(lo_mask, row), hi = _mm512_maskz_loadu_ps(hi_mask, row + 16);
        const __m512i index =
            _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(y * W + 2 * ow0)), even);
        for (int kx = 0; kx < 2; ++kx) {
          const __m512 v = _mm512_permutex2var_ps(lo, kx ? odd : even, hi);
          const __mmask16 take = (ky == 0 && kx == 0)
                                     ? static_cast<__mmask16>(0xffffu)
                                     : static_cast<__mmask16>(_mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
                                                              (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) &
                                                               _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q)));
          best = _mm512_mask_mov_ps(best, take, v);
          arg = _mm512_mask_mov_epi32(arg, take, _mm512_add_epi32(index, _mm512_set1_epi32(kx)));
        }
      }
      _mm512_mask_storeu_ps(out + oh * OW + ow0, out_mask, best);
      _mm512_mask_storeu_epi32(argmax + oh * OW + ow0, out_mask, arg);
    }
}
#endif
}  // namespace

void CpuBackend::maxpool2d_forward(float* out, int32_t* argmax, const float* in, const Pool2dShape& s) {
  const int64_t OH = s.oh(), OW = s.ow();
#if defined(__AVX512F__)
  if (s.k == 2 && s.stride == 2 && s.pad == 0) {
    parallel_each(s.n * s.c, 8, [&](int64_t plane) {
      maxpool_2x2_plane(out + plane * OH * OW, argmax + plane * OH * OW, in + plane * s.h * s.w, s.w, OH, OW);
    });
    return;
  }
#endif
  parallel_each(s.n * s.c, 4, [&](int64_t plane) {
    const float* p = in + plane * s.h * s.w;
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t o = (plane * OH + oh) * OW + ow;
        float best = 0.0f;
        int32_t arg = -1;
        for (int64_t ky = 0; ky < s.k; ++ky) {
          const int64_t y = oh * s.stride - s.pad + ky;
          if (y < 0 || y >= s.h) continue;
          for (int64_t kx = 0; kx < s.k; ++kx) {
            const int64_t x = ow * s.stride - s.pad + kx;
            if (x < 0 || x >= s.w) continue;
            const float v = p[y * s.w + x];
            // Select without a branch: random data makes "which tap wins" unpredictable.
            const bool take = kern::maxpool_takes(v, best, arg);
            best = take ? v : best;
            arg = take ? static_cast<int32_t>(y * s.w + x) : arg;
          }
        }
        argmax[o] = arg;
        out[o] = kern::maxpool_result(best, arg);
      }
  });
}

void CpuBackend::maxpool2d_backward(float* din, const float* dout, const int32_t* argmax,
                                    const Pool2dShape& s) {
  const int64_t OH = s.oh(), OW = s.ow(), HW = s.h * s.w;
  parallel_each(s.n * s.c, 4, [&](int64_t plane) {
    float* d = din + plane * HW;
    std::fill_n(d, HW, 0.0f);
    for (int64_t o = plane * OH * OW; o < (plane + 1) * OH * OW; ++o)
      if (argmax[o] >= 0) d[argmax[o]] += dout[o];
  });
}

void CpuBackend::avgpool2d_forward(float* out, const float* in, const Pool2dShape& s) {
  parallel_each(s.n * s.c * s.oh() * s.ow(), 2048,
                [&](int64_t i) { out[i] = kern::avgpool2d_one(in, s, i); });
}

void CpuBackend::avgpool2d_backward(float* din, const float* dout, const Pool2dShape& s) {
  parallel_each(s.n * s.c * s.h * s.w, 2048,
                [&](int64_t i) { din[i] = kern::avgpool2d_backward_one(dout, s, i); });
}

}  // namespace prism::cpu
