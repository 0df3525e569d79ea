// Portable exp and log for exact mode (reference): Cody–Waite range reduction plus a fixed polynomial, using
// only IEEE + − × ÷ and fma, so the CPU and the GPU round every step the same way (DESIGN §3 rule 4). libm
// and CUDA's expf/logf differ in the last bits; neither is called in exact mode.
#pragma once
#include "prism/kernels/hd.hpp"

namespace prism::kern {

// e^x, float. Measured over all 2^32 inputs (tests/test_pmath.cpp, PRISM_PMATH_FULL=1): max error 1 ulp
// against the correctly rounded result; about 10.2 million inputs (under 0.5% of the ~2.2e9 floats in
// [−104, 88.8]) are off by that one ulp.
PRISM_HD float exp_portable(float x) {
  if (x != x) return x;                                        // NaN propagates
  if (x > 88.72283935546875f) return bits_float(0x7f800000u);  // overflow → +inf
  if (x < -103.97283935546875f) return 0.0f;                   // below half the smallest subnormal
  // k = nearest integer to x / ln2, by the 1.5·2^23 rounding trick (|x/ln2| < 2^22 here).
  const float kRound = 12582912.0f;
  float t = x * 1.44269502162933349609375f + kRound;
  float kf = t - kRound;
  // r = x − k·ln2 in two fused steps (ln2 = hi + lo, hi = float(ln2)).
  float r = fmaf_hd(-kf, 0.693147182464599609375f, x);
  r = fmaf_hd(-kf, -1.904654323148236e-09f, r);
  // e^r on |r| ≤ ln2/2: Taylor to degree 7 (truncation ≤ 5e-9 relative), Horner with fma.
  float p = 1.98412698412698e-4f;           // 1/5040
  p = fmaf_hd(p, r, 1.38888888888889e-3f);  // 1/720
  p = fmaf_hd(p, r, 8.33333333333333e-3f);  // 1/120
  p = fmaf_hd(p, r, 4.16666666666667e-2f);  // 1/24
  p = fmaf_hd(p, r, 1.66666666666667e-1f);  // 1/6
  p = fmaf_hd(p, r, 0.5f);
  p = fmaf_hd(p, r, 1.0f);
  p = fmaf_hd(p, r, 1.0f);
  int k = (int)kf;
  if (k > 127) return p * 2.0f * bits_float((uint32_t)(k - 1 + 127) << 23);
  if (k >= -126) return p * bits_float((uint32_t)(k + 127) << 23);
  // Subnormal result: scale in two steps so the intermediate stays normal.
  return (p * bits_float((uint32_t)(k + 64 + 127) << 23)) * bits_float((uint32_t)(-64 + 127) << 23);
}

// ln x, float. fdlibm's reduction (x = 2^e · m, m in [√½, √2), s = f/(2+f)) with its minimax coefficients.
// Measured over all 2^32 inputs: max error 1 ulp against the correctly rounded result (about 13.4 million of
// the 2.13e9 positive finite inputs are off by that one ulp).
PRISM_HD float log_portable(float x) {
  uint32_t u = float_bits(x);
  if (x != x) return x;
  if (x < 0.0f) return bits_float(0x7fc00000u);   // NaN
  if (x == 0.0f) return bits_float(0xff800000u);  // −inf
  if (u == 0x7f800000u) return x;                 // +inf
  int e = 0;
  if (u < 0x00800000u) {  // subnormal: scale up by 2^25
    x *= 33554432.0f;
    u = float_bits(x);
    e = -25;
  }
  e += (int)(u >> 23) - 127;
  float m = bits_float((u & 0x007fffffu) | 0x3f800000u);  // [1, 2)
  if (m > 1.41421353816986083984375f) {
    m *= 0.5f;
    e += 1;
  }
  float f = m - 1.0f;  // exact (Sterbenz)
  float s = f / (2.0f + f);
  float z = s * s;
  float w = z * z;
  float t1 = w * fmaf_hd(w, 0.24279078841f, 0.40000972152f);
  float t2 = z * fmaf_hd(w, 0.28498786688f, 0.66666662693f);
  float R = t2 + t1;
  float hfsq = 0.5f * f * f;
  float ef = (float)e;
  const float ln2_hi = 6.9313812256e-01f, ln2_lo = 9.0580006145e-06f;
  return fmaf_hd(ef, ln2_hi, -((hfsq - fmaf_hd(s, hfsq + R, ef * ln2_lo)) - f));
}

}  // namespace prism::kern
