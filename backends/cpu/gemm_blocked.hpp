// The blocked exact-GEMM driver of the CPU backend (fast path, bit-identical to kern::gemm_one): BLIS-style
// panels, the run-time ISA's MR×NR micro-kernel, K blocked by kReduceChunk. Generic over how the operands
// are packed and where C lives, so gemm.cpp (strided matrices) and conv.cpp (operands read straight from an
// NCHW image or gradient, C written as NCHW) share one driver and one set of orders.
#pragma once
#include <tbb/parallel_for.h>

#include <algorithm>
#include <vector>

#include "cpu/isa.hpp"
#include "prism/kernels/reduce.hpp"

namespace prism::cpu::blocked {

constexpr int64_t KC = kern::kReduceChunk;  // the k block is the reduction chunk: both orders fall out of it
constexpr int64_t MC = 96;                  // rows of A per task (a multiple of every variant's MR: 4, 6, 8)
constexpr int64_t NC = 4096;                // columns of B packed at once
constexpr int64_t NR_GROUP = 4;             // NR strips per task
constexpr int64_t kMaxTile = 8 * 32;        // the largest MR × NR (AVX-512)

// A problem C (M × N) = A (M × K) · B (K × N) is given by two packers (rows ≤ MR, cols ≤ NR; lanes past them
// are zero):
//   pack_a(dst, i0, rows, k0, kc, MR):  dst[k·MR + r] = A(i0 + r, k0 + k)
//   pack_b(dst, j0, cols, k0, kc, NR):  dst[k·NR + c] = B(k0 + k, j0 + c)
// and an output with
//   float* tile(i0, j0, int64_t& ld): C(i0 + i, j0 + j) = tile[i·ld + j] for the whole MR × NR tile, or
//                                      nullptr when that block of C is not one strided block
//   load(edge, i0, j0, rows, cols, NR) / store(…): C(i0 + i, j0 + j) ↔ edge[i·NR + j] for i < rows, j < cols
//   float& at(i, j)

// A strided matrix: element (r, c) at p[r·rs + c·cs].
struct MatView {
  const float* p;
  int64_t rs, cs;
  float at(int64_t r, int64_t c) const { return p[r * rs + c * cs]; }
  MatView transposed() const { return {p, cs, rs}; }
  // dst[k·L + l] = (r0 + l, k0 + k) for l < lanes, 0 for lanes ≤ l < L: rows r0.. as the lanes of a packed
  // strip (A's rows; B's columns through transposed()). Loops that read memory in order for the layouts the
  // GEMMs here use: column-major (each k holds L consecutive rows) or row-major (each row contiguous in k).
  void pack_rows(float* dst, int64_t r0, int64_t lanes, int64_t k0, int64_t kc, int64_t L) const {
    if (rs == 1) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = p + r0 + (k0 + k) * cs;
        for (int64_t l = 0; l < lanes; ++l) dst[k * L + l] = src[l];
        for (int64_t l = lanes; l < L; ++l) dst[k * L + l] = 0.0f;
      }
    } else if (cs == 1) {
      for (int64_t l = 0; l < lanes; ++l) {
        const float* src = p + (r0 + l) * rs + k0;
        for (int64_t k = 0; k < kc; ++k) dst[k * L + l] = src[k];
      }
      for (int64_t l = lanes; l < L; ++l)
        for (int64_t k = 0; k < kc; ++k) dst[k * L + l] = 0.0f;
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        for (int64_t l = 0; l < lanes; ++l) dst[k * L + l] = at(r0 + l, k0 + k);
        for (int64_t l = lanes; l < L; ++l) dst[k * L + l] = 0.0f;
      }
    }
  }
};

// C row-major with leading dimension ld.
struct DenseOut {
  float* c;
  int64_t ld;
  float* tile(int64_t i0, int64_t j0, int64_t& ld_out) const {
    ld_out = ld;
    return c + i0 * ld + j0;
  }
  void load(float* edge, int64_t i0, int64_t j0, int64_t rows, int64_t cols, int64_t NR) const {
    for (int64_t i = 0; i < rows; ++i) std::copy_n(c + (i0 + i) * ld + j0, cols, edge + i * NR);
  }
  void store(const float* edge, int64_t i0, int64_t j0, int64_t rows, int64_t cols, int64_t NR) const {
    for (int64_t i = 0; i < rows; ++i) std::copy_n(edge + i * NR, cols, c + (i0 + i) * ld + j0);
  }
  float& at(int64_t i, int64_t j) const { return c[i * ld + j]; }
};

// f(i) for i < n: in parallel (independent outputs), or in order on this thread when threads <= 1.
template <class F>
void for_each_task(int64_t n, int threads, F&& f) {
  if (threads <= 1 || n <= 1) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  tbb::parallel_for(int64_t(0), n, [&](int64_t i) { f(i); });
}

// One MR × NR tile of C from packed strips: straight into C when it is a strided block, else through a
// full-size buffer of which the valid part is copied.
template <class Out>
void micro_tile(const IsaKernels& isa, const Out& out, int64_t i0, int64_t j0, int64_t rows, int64_t cols,
                int64_t kc, const float* Ap, const float* Bp, TileInit init) {
  const int64_t MR = isa.mr, NR = isa.nr;
  int64_t ld = 0;
  float* c = rows == MR && cols == NR ? out.tile(i0, j0, ld) : nullptr;
  if (c) {
    isa.gemm_micro(kc, Ap, Bp, c, ld, init);
    return;
  }
  float edge[kMaxTile];
  std::fill_n(edge, MR * NR, 0.0f);
  if (init != TileInit::zero_store) out.load(edge, i0, j0, rows, cols, NR);
  isa.gemm_micro(kc, Ap, Bp, edge, NR, init);
  out.store(edge, i0, j0, rows, cols, NR);
}

inline TileInit panel_init(int64_t pc, int64_t k_begin, GemmOrder order) {
  return pc == k_begin ? TileInit::zero_store
                       : (order == GemmOrder::chain ? TileInit::load_store : TileInit::zero_add);
}

// A small enough to pack whole (every row, every panel) once: tasks are column groups, each packing its own
// B strips panel by panel and running them against all of A, so B never leaves the core's cache and C's
// block stays hot across panels. The shape of conv layers (M = Co or C·KH·KW, N = the batch's pixels).
constexpr int64_t kSharedAFloats = int64_t(1) << 17;  // 512 KiB
constexpr int64_t kMaxChainPanel = 768;

// All of A (M × [k_begin, k_end)) packed once, panel after panel, for gemm_packed_a; reusable across
// products that share A (a conv's input gradient, image after image).
struct PackedA {
  std::vector<float> data;
  int64_t M = 0, Mp = 0, k_begin = 0, k_end = 0, step = 0;
  GemmOrder order = GemmOrder::chain;
};

template <class Problem>
PackedA pack_whole_a(const Problem& pr, int64_t M, int64_t k_begin, int64_t k_end, GemmOrder order) {
  const int64_t MR = isa_kernels().mr;
  PackedA a;
  a.M = M;
  a.Mp = (M + MR - 1) / MR * MR;
  a.k_begin = k_begin;
  a.k_end = k_end;
  a.order = order;
  // Chain order may block k anywhere (the accumulators carry over exactly): up to kMaxChainPanel in one
  // panel, so C is written once. Chunked order keeps the chunks as panels.
  const int64_t K = k_end - k_begin;
  a.step = order == GemmOrder::chain && K <= kMaxChainPanel ? K : KC;
  a.data.resize(static_cast<size_t>(a.Mp * K));
  for (int64_t pc = k_begin; pc < k_end; pc += a.step) {
    const int64_t kc = std::min(a.step, k_end - pc);
    float* panel = a.data.data() + a.Mp * (pc - k_begin);
    for (int64_t r = 0; r * MR < M; ++r)
      pr.pack_a(panel + r * kc * MR, r * MR, std::min(MR, M - r * MR), pc, kc, MR);
  }
  return a;
}

// C = A · B with A packed whole: tasks are column groups, each packing its own B strips panel by panel and
// running them against all of A.
template <class Problem, class Out>
void gemm_packed_a(const PackedA& a, const Problem& pr, const Out& out, int64_t N, int threads) {
  const IsaKernels& isa = isa_kernels();
  const int64_t MR = isa.mr, NR = isa.nr, M = a.M;
  const int64_t strips = (N + NR - 1) / NR;
  const int64_t col_groups = (strips + NR_GROUP - 1) / NR_GROUP;
  for_each_task(col_groups, threads, [&](int64_t jg) {
    thread_local std::vector<float> Bp;
    Bp.resize(NR_GROUP * a.step * NR);
    const int64_t s0 = jg * NR_GROUP, s1 = std::min(strips, s0 + NR_GROUP);
    for (int64_t pc = a.k_begin; pc < a.k_end; pc += a.step) {
      const int64_t kc = std::min(a.step, a.k_end - pc);
      const TileInit init = panel_init(pc, a.k_begin, a.order);
      for (int64_t s = s0; s < s1; ++s)
        pr.pack_b(Bp.data() + (s - s0) * kc * NR, s * NR, std::min(NR, N - s * NR), pc, kc, NR);
      const float* panel = a.data.data() + a.Mp * (pc - a.k_begin);
      for (int64_t s = s0; s < s1; ++s)
        for (int64_t r = 0; r * MR < M; ++r)
          micro_tile(isa, out, r * MR, s * NR, std::min(MR, M - r * MR), std::min(NR, N - s * NR), kc,
                     panel + r * kc * MR, Bp.data() + (s - s0) * kc * NR, init);
    }
  });
}

template <class Problem, class Out>
void gemm_shared_a(const Problem& pr, const Out& out, int64_t M, int64_t N, int64_t k_begin, int64_t k_end,
                   GemmOrder order, int threads) {
  gemm_packed_a(pack_whole_a(pr, M, k_begin, k_end, order), pr, out, N, threads);
}

// The blocked kernel over k in [k_begin, k_end): chain order continues the accumulators across KC panels;
// chunked order starts each panel from 0 and adds it to C (the first panel stores). No alpha here.
template <class Problem, class Out>
void gemm_blocked(const Problem& pr, const Out& out, int64_t M, int64_t N, int64_t k_begin, int64_t k_end,
                  GemmOrder order, int threads) {
  if (M * (k_end - k_begin) <= kSharedAFloats) {
    gemm_shared_a(pr, out, M, N, k_begin, k_end, order, threads);
    return;
  }
  const IsaKernels& isa = isa_kernels();
  const int64_t MR = isa.mr, NR = isa.nr;
  std::vector<float> Bp;
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    const int64_t strips = (nc + NR - 1) / NR;
    for (int64_t pc = k_begin; pc < k_end; pc += KC) {
      const int64_t kc = std::min(KC, k_end - pc);
      const TileInit init = panel_init(pc, k_begin, order);
      Bp.resize(strips * kc * NR);
      for_each_task(strips, threads, [&](int64_t s) {
        const int64_t j0 = jc + s * NR;
        pr.pack_b(Bp.data() + s * kc * NR, j0, std::min(NR, N - j0), pc, kc, NR);
      });
      const int64_t row_blocks = (M + MC - 1) / MC;
      // Enough row blocks for every thread: one task per row block, so each packs its A block once (not once
      // per column group); otherwise column groups of NR_GROUP strips add the parallelism.
      const int64_t group = row_blocks >= 4 * threads ? strips : NR_GROUP;
      const int64_t col_groups = (strips + group - 1) / group;
      for_each_task(row_blocks * col_groups, threads, [&](int64_t task) {
        const int64_t ib = task / col_groups, jg = task % col_groups;
        const int64_t i0 = ib * MC, mc = std::min(MC, M - i0);
        thread_local std::vector<float> Ap;
        Ap.resize(((mc + MR - 1) / MR) * MR * kc);
        for (int64_t r = 0; r < mc; r += MR)
          pr.pack_a(Ap.data() + r * kc, i0 + r, std::min(MR, mc - r), pc, kc, MR);
        for (int64_t s = jg * group; s < std::min(strips, (jg + 1) * group); ++s) {
          const int64_t j0 = jc + s * NR, cols = std::min(NR, N - j0);
          for (int64_t r = 0; r < mc; r += MR)
            micro_tile(isa, out, i0 + r, j0, std::min(MR, mc - r), cols, kc, Ap.data() + r * kc,
                       Bp.data() + s * kc * NR, init);
        }
      });
    }
  }
}

// C = A · B in `order`, no alpha: the blocked kernel, or — for a chunked product with few output tiles but
// many k chunks (weight gradients: M·N small, K = the batch) — the chunk partials computed in parallel into a
// workspace and then added to C in chunk order: the same additions as the serial chunked order, without
// leaving threads idle at each of the `chunks` panels.
template <class Problem, class Out>
void gemm_run(const Problem& pr, const Out& out, int64_t M, int64_t N, int64_t K, GemmOrder order,
              int threads) {
  const int64_t chunks = (K + KC - 1) / KC;
  const int64_t NR = isa_kernels().nr;
  const int64_t tiles = ((M + MC - 1) / MC) * ((((N + NR - 1) / NR) + NR_GROUP - 1) / NR_GROUP);
  constexpr int64_t kMaxPartialFloats = int64_t(1) << 24;  // 64 MiB of workspace at most
  // Also when each chunk fits the shared-A blocking and there are chunks for every thread: then A and B are
  // each packed once per chunk (the tile-parallel panels would pack A once per column group).
  const bool chunk_tasks = tiles < 4 * threads || (chunks >= 2 * threads && M * KC <= kSharedAFloats);
  if (threads > 1 && order == GemmOrder::chunked && chunks > 1 && chunk_tasks &&
      chunks * M * N <= kMaxPartialFloats) {
    std::vector<float> partial(static_cast<size_t>(chunks) * M * N);
    tbb::parallel_for(int64_t(0), chunks, [&](int64_t ch) {
      const int64_t k0 = ch * KC, k1 = std::min(K, k0 + KC);
      gemm_blocked(pr, DenseOut{partial.data() + ch * M * N, N}, M, N, k0, k1, order, 1);
    });
    // Row by row, the partials added chunk after chunk (p0 + p1 + …, the serial order), contiguous in j.
    tbb::parallel_for(int64_t(0), M, [&](int64_t i) {
      float* total = partial.data() + i * N;
      for (int64_t ch = 1; ch < chunks; ++ch) {
        const float* part = partial.data() + (ch * M + i) * N;
        for (int64_t j = 0; j < N; ++j) total[j] = total[j] + part[j];
      }
      for (int64_t j = 0; j < N; ++j) out.at(i, j) = total[j];
    });
  } else {
    gemm_blocked(pr, out, M, N, 0, K, order, threads);
  }
}

inline int64_t round_up(int64_t x, int64_t m) {
  return (x + m - 1) / m * m;
}

// The micro-tile pads N up to NR and M up to MR. When N is the narrow side (a conv weight gradient: N =
// C·KH·KW = 9 for conv1) computing Cᵀ = Bᵀ · Aᵀ instead pads far less. Every output is the same fma chain
// either way (fma(x, y, acc) = fma(y, x, acc): the product is commutative and rounded once).
inline bool swap_pays(int64_t M, int64_t N) {
  const IsaKernels& isa = isa_kernels();
  return round_up(N, isa.mr) * round_up(M, isa.nr) * 5 < round_up(M, isa.mr) * round_up(N, isa.nr) * 4;
}

}  // namespace prism::cpu::blocked
