// Exact-mode GEMM on the CPU (fast path of the reference kern::gemm_one, bit-identical to it): BLIS-style
// packing and an MR×NR register-blocked micro-kernel (from the ISA variant chosen at run time, isa.hpp)
// that vectorises across outputs (j) and keeps each
// output's k loop one sequential fma chain. K is blocked by kReduceChunk: in chain order the accumulators
// carry over between blocks (reloaded from C), in chunked order each block starts from 0 and is added to C —
// exactly the canonical orders. Parallel over (row block × column group) tiles with oneTBB; no tile's result
// depends on another's.
#include <tbb/parallel_for.h>

#include <algorithm>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/isa.hpp"
#include "prism/kernels/gemm.hpp"

namespace prism::cpu {

namespace {

// The micro-tile (MR × NR) and its kernel come from the ISA variant chosen at run time (isa.hpp); the
// blocking around it is shared.
constexpr int64_t KC = kern::kReduceChunk;  // the k block is the reduction chunk: both orders fall out of it
constexpr int64_t MC = 96;                  // rows of A per task (a multiple of every variant's MR: 4, 6, 8)
constexpr int64_t NC = 4096;                // columns of B packed at once
constexpr int64_t NR_GROUP = 4;             // NR strips per task
constexpr int64_t kMaxTile = 8 * 32;        // the largest MR × NR (AVX-512)

// Strided views of op(A) and op(B).
struct MatView {
  const float* p;
  int64_t rs, cs;  // element (r, c) at p[r·rs + c·cs]
  float at(int64_t r, int64_t c) const { return p[r * rs + c * cs]; }
};

// Pack rows [i0, i0+mc) × k [k0, k0+kc) of op(A) into MR-row strips, zero-padded. The two layouts GEMMs
// here use get loops that read memory in order: op(A) column-major (trans_a: each k holds MR consecutive
// rows) and row-major (each row contiguous in k).
void pack_a(float* Ap, MatView a, int64_t i0, int64_t mc, int64_t k0, int64_t kc, int64_t MR) {
  for (int64_t s = 0; s < mc; s += MR) {
    float* dst = Ap + s * kc;
    const int64_t rows = std::min(MR, mc - s);
    if (a.rs == 1) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = a.p + (i0 + s) + (k0 + k) * a.cs;
        for (int64_t r = 0; r < rows; ++r) dst[k * MR + r] = src[r];
        for (int64_t r = rows; r < MR; ++r) dst[k * MR + r] = 0.0f;
      }
    } else if (a.cs == 1) {
      for (int64_t r = 0; r < rows; ++r) {
        const float* src = a.p + (i0 + s + r) * a.rs + k0;
        for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = src[k];
      }
      for (int64_t r = rows; r < MR; ++r)
        for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = 0.0f;
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        for (int64_t r = 0; r < rows; ++r) dst[k * MR + r] = a.at(i0 + s + r, k0 + k);
        for (int64_t r = rows; r < MR; ++r) dst[k * MR + r] = 0.0f;
      }
    }
  }
}

// Pack columns [j0, j0+nc) × k [k0, k0+kc) of op(B) into NR-column strips, zero-padded.
void pack_b_strip(float* dst, MatView b, int64_t j0, int64_t cols, int64_t k0, int64_t kc, int64_t NR) {
  if (b.cs == 1 && cols == NR) {
    for (int64_t k = 0; k < kc; ++k) std::copy_n(b.p + (k0 + k) * b.rs + j0, NR, dst + k * NR);
    return;
  }
  for (int64_t k = 0; k < kc; ++k) {
    for (int64_t c = 0; c < cols; ++c) dst[k * NR + c] = b.at(k0 + k, j0 + c);
    for (int64_t c = cols; c < NR; ++c) dst[k * NR + c] = 0.0f;
  }
}

}  // namespace

namespace {

// The blocked kernel over k in [k_begin, k_end) (a whole number of KC panels, or the tail): chain order
// continues the accumulators across panels; chunked order starts each panel from 0 and adds it to C (the
// first panel stores). No alpha here.
void gemm_blocked(float* C, MatView a, MatView b, int64_t M, int64_t N, int64_t k_begin, int64_t k_end,
                  GemmOrder order, int threads) {
  const IsaKernels& isa = isa_kernels();
  const int64_t MR = isa.mr, NR = isa.nr;
  std::vector<float> Bp;
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    const int64_t strips = (nc + NR - 1) / NR;
    for (int64_t pc = k_begin; pc < k_end; pc += KC) {
      const int64_t kc = std::min(KC, k_end - pc);
      const TileInit init = pc == k_begin
                                ? TileInit::zero_store
                                : (order == GemmOrder::chain ? TileInit::load_store : TileInit::zero_add);
      Bp.resize(strips * kc * NR);
      tbb::parallel_for(int64_t(0), strips, [&](int64_t s) {
        pack_b_strip(Bp.data() + s * kc * NR, b, jc + s * NR, std::min(NR, nc - s * NR), pc, kc, NR);
      });
      const int64_t row_blocks = (M + MC - 1) / MC;
      // Enough row blocks for every thread: one task per row block, so each packs its A block once (not once
      // per column group); otherwise column groups of NR_GROUP strips add the parallelism.
      const int64_t group = row_blocks >= 4 * threads ? strips : NR_GROUP;
      const int64_t col_groups = (strips + group - 1) / group;
      tbb::parallel_for(int64_t(0), row_blocks * col_groups, [&](int64_t task) {
        const int64_t ib = task / col_groups, jg = task % col_groups;
        const int64_t i0 = ib * MC, mc = std::min(MC, M - i0);
        thread_local std::vector<float> Ap;
        Ap.resize(((mc + MR - 1) / MR) * MR * kc);
        pack_a(Ap.data(), a, i0, mc, pc, kc, MR);
        float edge[kMaxTile];
        for (int64_t s = jg * group; s < std::min(strips, (jg + 1) * group); ++s) {
          const int64_t j0 = jc + s * NR, cols = std::min(NR, N - j0);
          for (int64_t r = 0; r < mc; r += MR) {
            const int64_t rows = std::min(MR, mc - r);
            float* c = C + (i0 + r) * N + j0;
            if (rows == MR && cols == NR) {
              isa.gemm_micro(kc, Ap.data() + r * kc, Bp.data() + s * kc * NR, c, N, init);
              continue;
            }
            // Edge tile: go through a full-size buffer, then copy the valid part.
            for (int64_t i = 0; i < MR; ++i)
              for (int64_t j = 0; j < NR; ++j)
                edge[i * NR + j] = (i < rows && j < cols) ? c[i * N + j] : 0.0f;
            isa.gemm_micro(kc, Ap.data() + r * kc, Bp.data() + s * kc * NR, edge, NR, init);
            for (int64_t i = 0; i < rows; ++i)
              for (int64_t j = 0; j < cols; ++j) c[i * N + j] = edge[i * NR + j];
          }
        }
      });
    }
  }
}

}  // namespace

namespace {

// C (M × N) = op(A) · op(B) in `order`, no alpha.
void gemm_views(float* C, MatView a, MatView b, int64_t M, int64_t N, int64_t K, GemmOrder order,
                int threads) {
  const int64_t chunks = (K + KC - 1) / KC;
  const int64_t NR = isa_kernels().nr;
  const int64_t tiles = ((M + MC - 1) / MC) * ((((N + NR - 1) / NR) + NR_GROUP - 1) / NR_GROUP);
  // Few output tiles (a handful per thread) but many k chunks (weight gradients: M·N small, K = the batch):
  // tile-parallel panels would leave threads idle at every one of the `chunks` panels, so compute the chunk
  // partials in parallel into a workspace instead, then add them to C in chunk order — the same additions
  // as the serial chunked order.
  constexpr int64_t kMaxPartialFloats = int64_t(1) << 24;  // 64 MiB of workspace at most
  if (order == GemmOrder::chunked && chunks > 1 && tiles < 4 * threads &&
      chunks * M * N <= kMaxPartialFloats) {
    std::vector<float> partial(static_cast<size_t>(chunks) * M * N);
    tbb::parallel_for(int64_t(0), chunks, [&](int64_t ch) {
      const int64_t k0 = ch * KC, k1 = std::min(K, k0 + KC);
      gemm_blocked(partial.data() + ch * M * N, a, b, M, N, k0, k1, order, threads);
    });
    tbb::parallel_for(int64_t(0), M, [&](int64_t i) {
      for (int64_t j = 0; j < N; ++j) {
        float total = partial[i * N + j];
        for (int64_t ch = 1; ch < chunks; ++ch) total = total + partial[(ch * M + i) * N + j];
        C[i * N + j] = total;
      }
    });
  } else {
    gemm_blocked(C, a, b, M, N, 0, K, order, threads);
  }
}

int64_t round_up(int64_t x, int64_t m) {
  return (x + m - 1) / m * m;
}

}  // namespace

void gemm_exact(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
                bool trans_b, float alpha, GemmOrder order, int threads) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    // The empty chain is +0, then scaled like any other output: alpha < 0 gives −0, as kern::gemm_one does.
    std::fill_n(C, M * N, alpha == 1.0f ? 0.0f : alpha * 0.0f);
    return;
  }
  const MatView a{A, trans_a ? 1 : K, trans_a ? M : 1};
  const MatView b{B, trans_b ? 1 : N, trans_b ? K : 1};
  // The micro-tile pads N up to NR and M up to MR. When N is the narrow side (a conv weight gradient: N =
  // C·KH·KW = 9 for conv1) computing Cᵀ = op(B)ᵀ · op(A)ᵀ instead pads far less. Every output is the same
  // fma chain either way (fma(x, y, acc) = fma(y, x, acc): the product is commutative and rounded once).
  const IsaKernels& isa = isa_kernels();
  const int64_t straight = round_up(M, isa.mr) * round_up(N, isa.nr);
  const int64_t swapped = round_up(N, isa.mr) * round_up(M, isa.nr);
  if (swapped * 5 < straight * 4) {
    std::vector<float> t(static_cast<size_t>(M * N));
    gemm_views(t.data(), MatView{b.p, b.cs, b.rs}, MatView{a.p, a.cs, a.rs}, N, M, K, order, threads);
    tbb::parallel_for(int64_t(0), M, [&](int64_t i) {
      for (int64_t j = 0; j < N; ++j) C[i * N + j] = t[j * M + i];
    });
  } else {
    gemm_views(C, a, b, M, N, K, order, threads);
  }
  if (alpha != 1.0f) {
    tbb::parallel_for(int64_t(0), M, [&](int64_t i) {
      for (int64_t j = 0; j < N; ++j) C[i * N + j] = alpha * C[i * N + j];
    });
  }
}

void CpuBackend::gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
                      bool trans_b, float alpha, GemmOrder order) {
  if (mode() == Mode::exact)
    gemm_exact(C, A, B, M, N, K, trans_a, trans_b, alpha, order, num_threads());
  else
    gemm_fast(C, A, B, M, N, K, trans_a, trans_b, alpha, num_threads());
}

}  // namespace prism::cpu
