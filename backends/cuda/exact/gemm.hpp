// Exact-mode GEMM of the CUDA backend (reference order, fast tiling): a shared-memory tiled kernel whose
// every output is one sequential fma chain over its k range, bit-identical to kern::gemm_one. Host and device
// (the launch emulator runs it on the CPU in tests/test_cuda_emulator.cpp).
//
// chain order:   one launch; each output's chain runs over k = 0..K-1 across all k tiles, starting from 0.
// chunked order: split-k by the canonical 256-chunks (kern::kReduceChunk): launch z computes chunk c0 + z of
// every
//                output into a scratch slab (its own chain from 0), then a fold adds the slabs to C in chunk
//                order, p0 + p1 + …; when the slabs of all chunks do not fit the scratch cap, groups of
//                chunks are folded one after another, carrying the running total in C. alpha multiplies once,
//                at the very end.
#pragma once
#include "cuda/exact/launch.hpp"
#include "prism/backend.hpp"
#include "prism/kernels/gemm.hpp"

namespace prism::cuda::exact {

// Scratch cap of the chunked order's slabs, in floats (64 MiB).
inline constexpr int64_t kGemmScratchFloats = int64_t(1) << 24;

// 64×64 output tile per block, k tiles of 16, 256 threads with 4×4 outputs each.
struct GemmTile {
  static constexpr int kThreads = 256, BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;
  static_assert(kern::kReduceChunk % BK == 0, "k tiles must not straddle a reduction chunk");
  static_assert((BM / TM) * (BN / TN) == kThreads, "one thread per 4×4 sub-tile");

  // Rows padded by 4 floats: the k-fastest stores of a row-major A (or a transposed B) then spread over the
  // banks (2-way instead of 16-way conflicts), and each row stays 16-byte aligned for the 4-wide reads of
  // compute().
  struct Shared {
    float a[BK][BM + 4];  // op(A) tile, k-major
    float b[BK][BN + 4];  // op(B) tile, k-major
  };
  struct Regs {
    float acc[TM][TN];
  };

  const float* A;
  const float* B;
  float* out;  // C (chain, or single chunk) or the slab base (split-k)
  int64_t M, N, K;
  bool trans_a, trans_b;
  int64_t n_tiles;  // tiles along N; block x = tile_m · n_tiles + tile_n
  bool split;       // true: block z computes chunk chunk0 + z into out + z·M·N, raw
  int64_t chunk0;
  float alpha;  // applied when !split

  PRISM_HD int64_t k_begin(const ThreadIdx& t) const {
    return split ? (chunk0 + t.bz) * kern::kReduceChunk : 0;
  }
  PRISM_HD int64_t k_end(const ThreadIdx& t) const {
    if (!split) return K;
    const int64_t e = k_begin(t) + kern::kReduceChunk;
    return e < K ? e : K;
  }
  PRISM_HD int64_t steps(const ThreadIdx& t) const { return ceil_div(k_end(t) - k_begin(t), BK); }

  PRISM_HD void begin(Regs& r, const ThreadIdx&) const {
    for (int i = 0; i < TM; ++i)
      for (int j = 0; j < TN; ++j) r.acc[i][j] = 0.0f;
  }

  // Global → shared. Each thread moves 4 elements of each tile; the element order follows the stored layout
  // so consecutive threads read consecutive addresses. Out-of-range elements are stored as 0 but never
  // multiplied (compute stops at the last valid k, and rows/columns outside C are not stored).
  PRISM_HD void load(Shared& sh, const ThreadIdx& t, int64_t s) const {
    const int64_t k0 = k_begin(t) + s * BK, ke = k_end(t);
    const int64_t i0 = int64_t(t.bx / n_tiles) * BM, j0 = int64_t(t.bx % n_tiles) * BN;
    for (int r = 0; r < (BM * BK) / kThreads; ++r) {
      const int e = int(t.tx) + r * kThreads;
      const int ii = trans_a ? e % BM : e / BK, kk = trans_a ? e / BM : e % BK;
      const int64_t gi = i0 + ii, gk = k0 + kk;
      sh.a[kk][ii] = (gi < M && gk < ke) ? kern::gemm_a(A, gi, gk, M, K, trans_a) : 0.0f;
    }
    for (int r = 0; r < (BN * BK) / kThreads; ++r) {
      const int e = int(t.tx) + r * kThreads;
      const int jj = trans_b ? e / BK : e % BN, kk = trans_b ? e % BK : e / BN;
      const int64_t gj = j0 + jj, gk = k0 + kk;
      sh.b[kk][jj] = (gj < N && gk < ke) ? kern::gemm_b(B, gk, gj, N, K, trans_b) : 0.0f;
    }
  }

  // The fma chain: k ascending within the tile, continuing each accumulator from the previous tile.
  PRISM_HD void compute(Regs& r, const Shared& sh, const ThreadIdx& t, int64_t s) const {
    const int64_t left = k_end(t) - (k_begin(t) + s * BK);
    const int kc = left < BK ? int(left) : BK;
    const int ty = int(t.tx) / (BN / TN), tx = int(t.tx) % (BN / TN);
    for (int kk = 0; kk < kc; ++kk) {
      float a[TM], b[TN];
      for (int i = 0; i < TM; ++i) a[i] = sh.a[kk][ty * TM + i];
      for (int j = 0; j < TN; ++j) b[j] = sh.b[kk][tx * TN + j];
      for (int i = 0; i < TM; ++i)
        for (int j = 0; j < TN; ++j) r.acc[i][j] = kern::fmaf_hd(a[i], b[j], r.acc[i][j]);
    }
  }

  PRISM_HD void end(const Regs& r, const ThreadIdx& t) const {
    const int ty = int(t.tx) / (BN / TN), tx = int(t.tx) % (BN / TN);
    const int64_t i0 = int64_t(t.bx / n_tiles) * BM + ty * TM, j0 = int64_t(t.bx % n_tiles) * BN + tx * TN;
    float* dst = split ? out + int64_t(t.bz) * M * N : out;
    for (int i = 0; i < TM; ++i)
      for (int j = 0; j < TN; ++j) {
        const int64_t gi = i0 + i, gj = j0 + j;
        if (gi >= M || gj >= N) continue;
        const float v = r.acc[i][j];
        dst[gi * N + gj] = (split || alpha == 1.0f) ? v : alpha * v;
      }
  }
};

// C[idx] (running total, or nothing yet when `first`) + slab 0 + slab 1 + … in chunk order; alpha after the
// last.
struct GemmFold {
  float* C;
  const float* slabs;
  int64_t mn, count;
  bool first, last;
  float alpha;
  PRISM_HD void operator()(int64_t idx) const {
    float total = first ? slabs[idx] : C[idx] + slabs[idx];
    for (int64_t c = 1; c < count; ++c) total = total + slabs[c * mn + idx];
    C[idx] = (last && alpha != 1.0f) ? alpha * total : total;
  }
};

struct FillF32 {
  float* x;
  float value;
  PRISM_HD void operator()(int64_t i) const { x[i] = value; }
};

template <class L>
void gemm(L& launch, float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
          bool trans_b, float alpha, GemmOrder order, int64_t scratch_floats = kGemmScratchFloats) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    // The empty chain is +0, then scaled like any other output (alpha < 0 gives −0), as kern::gemm_one does.
    launch.each(M * N, FillF32{C, alpha == 1.0f ? 0.0f : alpha * 0.0f}, "gemm (K = 0)");
    return;
  }
  const int64_t m_tiles = ceil_div(M, GemmTile::BM), n_tiles = ceil_div(N, GemmTile::BN);
  const Grid tiles{static_cast<uint32_t>(m_tiles * n_tiles), 1, 1};
  const int64_t chunks = ceil_div(K, kern::kReduceChunk);
  GemmTile k{A, B, C, M, N, K, trans_a, trans_b, n_tiles, false, 0, alpha};
  if (order == GemmOrder::chain || chunks == 1) {  // one chunk: the chunked order is the plain chain
    launch.phased(tiles, k, "gemm");
    return;
  }
  int64_t group = scratch_floats / (M * N);
  group = group < 1 ? 1 : group > chunks ? chunks : group;
  group = group > 65535 ? 65535 : group;  // grid z limit
  auto slabs = launch.scratch(group * M * N);
  k.out = slabs.data();
  k.split = true;
  for (int64_t c0 = 0; c0 < chunks; c0 += group) {
    const int64_t count = c0 + group < chunks ? group : chunks - c0;
    k.chunk0 = c0;
    launch.phased(Grid{tiles.x, 1, static_cast<uint32_t>(count)}, k, "gemm (split-k chunks)");
    launch.each(M * N, GemmFold{C, slabs.data(), M * N, count, c0 == 0, c0 + count == chunks, alpha},
                "gemm (fold chunks)");
  }
}

}  // namespace prism::cuda::exact
