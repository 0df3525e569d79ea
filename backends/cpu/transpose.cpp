// CPU transpose (batched [rows, cols] → [cols, rows]): data movement only, so any visiting order gives the
// same result in both modes. AVX-512 16×16 register tiles where available (about 3× the scalar blocked loop
// on the conv layout changes), 32×32 cache blocks otherwise.
#include <algorithm>
#if defined(__AVX512F__)
#include <immintrin.h>
// GCC 12 reports its own _mm512_undefined_ps() idiom inside the shuffle intrinsics as uninitialised (GCC bug
// 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace prism::cpu {

#if defined(__AVX512F__)
namespace {
// dst[j, i] = src[i, j] for a 16×16 tile, in registers (unpack, then two rounds of lane shuffles).
void transpose_tile16(float* dst, int64_t ld_dst, const float* src, int64_t ld_src) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * ld_src);
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int q = 0; q < 4; ++q) {
    r[4 * q + 0] = _mm512_shuffle_ps(t[4 * q + 0], t[4 * q + 2], 0x44);
    r[4 * q + 1] = _mm512_shuffle_ps(t[4 * q + 0], t[4 * q + 2], 0xEE);
    r[4 * q + 2] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0x44);
    r[4 * q + 3] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0xEE);
  }
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 4; ++j) {
      t[8 * h + j] = _mm512_shuffle_f32x4(r[8 * h + j], r[8 * h + 4 + j], 0x88);
      t[8 * h + 4 + j] = _mm512_shuffle_f32x4(r[8 * h + j], r[8 * h + 4 + j], 0xDD);
    }
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xDD);
  }
  for (int i = 0; i < 16; ++i) _mm512_storeu_ps(dst + i * ld_dst, r[i]);
}
}  // namespace
#endif

// Data movement only (no arithmetic), so any order gives the same result. AVX-512: 16×16 register tiles with
// scalar edges; otherwise 32×32 cache blocks.
void CpuBackend::transpose(float* out, const float* in, int64_t batch, int64_t rows, int64_t cols) {
#if defined(__AVX512F__)
  const int64_t row_tiles = (rows + 15) / 16;
  parallel_each(batch * row_tiles, 4, [&](int64_t task) {
    const int64_t b = task / row_tiles, r0 = task % row_tiles * 16, r1 = std::min(rows, r0 + 16);
    const float* src = in + b * rows * cols;
    float* dst = out + b * rows * cols;
    const int64_t c16 = r1 - r0 == 16 ? cols / 16 * 16 : 0;
    for (int64_t c0 = 0; c0 < c16; c0 += 16)
      transpose_tile16(dst + c0 * rows + r0, rows, src + r0 * cols + c0, cols);
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = c16; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  });
#else
  constexpr int64_t B = 32;
  const int64_t rb = (rows + B - 1) / B, cb = (cols + B - 1) / B;
  parallel_each(batch * rb * cb, 4, [&](int64_t t) {
    const int64_t b = t / (rb * cb), r0 = (t / cb) % rb * B, c0 = t % cb * B;
    const float* src = in + b * rows * cols;
    float* dst = out + b * rows * cols;
    for (int64_t r = r0; r < std::min(rows, r0 + B); ++r)
      for (int64_t c = c0; c < std::min(cols, c0 + B); ++c) dst[c * rows + r] = src[r * cols + c];
  });
#endif
}

}  // namespace prism::cpu
