// Philox-4x32-10 counter-based generator (Salmon et al., SC'11), host and device (reference).
// Every random number is a pure function of (seed, stream, counter): it depends on what it is for,
// never on which thread drew it, so runs are reproducible across thread counts and backends
// (DESIGN §3 rule 6).
#pragma once
#include "prism/kernels/hd.hpp"

namespace prism::kern {

struct Philox4 {
  uint32_t v[4];
};

PRISM_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  uint64_t p = (uint64_t)a * (uint64_t)b;
  *hi = (uint32_t)(p >> 32);
  *lo = (uint32_t)p;
}

// Ten rounds of Philox4x32 on counter (c0..c3) with key (k0, k1).
PRISM_HD Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(M0, c0, &hi0, &lo0);
    philox_mulhilo(M1, c2, &hi1, &lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += W0;
    k1 += W1;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// The 32-bit word number `index` of stream `stream` under `seed`: block index/4 of the counter space, lane
// index%4.
PRISM_HD uint32_t philox_u32(uint64_t seed, uint64_t stream, uint64_t index) {
  uint64_t block = index >> 2;
  Philox4 r = philox4x32_10((uint32_t)block, (uint32_t)(block >> 32), (uint32_t)stream,
                            (uint32_t)(stream >> 32), (uint32_t)seed, (uint32_t)(seed >> 32));
  return r.v[index & 3];
}

// Uniform float in [0, 1) with 24 random bits (exactly representable, no rounding).
PRISM_HD float u32_to_unit_float(uint32_t x) {
  return (float)(x >> 8) * (1.0f / 16777216.0f);
}

// Integer in [0, n) by the multiply-shift map (bias ≤ n/2^32, negligible for our n; no rejection loop,
// so the number of draws is fixed).
PRISM_HD uint32_t u32_below(uint32_t x, uint32_t n) {
  return (uint32_t)(((uint64_t)x * (uint64_t)n) >> 32);
}

}  // namespace prism::kern
