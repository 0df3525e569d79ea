// Runtime ISA dispatch of the CPU backend's hot kernels (fast path): the table of kernels one instruction-set
// variant provides (AVX-512, AVX2+FMA, baseline x86-64 SSE2 — or the generic C++ one off x86), and the variant
// chosen once per process for the CPU it runs on (env PRISM_ISA=avx512|avx2|baseline overrides; a variant the
// CPU lacks is refused). Every variant computes the same fma chains, so exact-mode results are bit-identical
// across variants (tests/test_isa.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

// The x86-64 variants are compiled (CMakeLists.txt) exactly when the target is x86-64.
#if defined(__x86_64__) || defined(_M_X64)
#define PRISM_ISA_X86 1
#endif

namespace prism::cpu {

enum class Isa : int { baseline, avx2, avx512 };

// How a GEMM micro-tile meets C: start from 0 and store; continue the chain from C; start from 0 and add to C.
enum class TileInit : int { zero_store, load_store, zero_add };

// The chunked sums of batch norm a bn_chains call advances: Σ x, Σ (x − mean)², Σ dy·x̂, and Σ dy with Σ dy·x̂
// from one pass (dbeta_dgamma: part holds the count Σ dy chains, then the count Σ dy·x̂ chains).
enum class BnChain : int { sum, square, dgamma, dbeta_dgamma };

// One variant's kernels. Each is plain arithmetic on raw pointers (no allocation, no threads, no templates
// shared with other translation units: see the ODR note in backends/cpu/isa_kernels.inc).
struct IsaKernels {
  Isa isa;
  const char* name;
  int64_t mr, nr;  // the GEMM micro-tile: mr rows × nr columns
  // c[i·ldc + j] (an mr × nr tile) from `init` and the fma chain over k < kc of Ap[k·mr + i] · Bp[k·nr + j].
  void (*gemm_micro)(int64_t kc, const float* Ap, const float* Bp, float* c, int64_t ldc, TileInit init);
  // out[i] = fma(a[i], b[i], c[i]), correctly rounded (the variant's fma; tests compare it with std::fma).
  void (*fma_arrays)(float* out, const float* a, const float* b, const float* c, int64_t n);
  // dst[i] = src[i] for i < n: short runs, no library call (full vectors and a masked tail).
  void (*copy_run)(float* dst, const float* src, int64_t n);
  // One row of a stride-1 conv's input gradient (col2im as a gather): dst[x] = the sum from 0, in tap order, of
  // base[off[t] + x + shift[t]] over the taps t < taps with x + shift[t] in [0, n_src), for x < n.
  void (*col2im_row)(float* dst, int64_t n, const float* base, const int64_t* off, const int64_t* shift,
                     int64_t taps, int64_t n_src);
  // kc depth steps of a strip packed from runs of a zero-bordered input (a stride-1 conv's forward im2col):
  // dst[k·L + lane[r] + t] = src[r][c·plane + ky·row + kx + t] for t < count[r], (c, ky, kx) the tap of depth
  // k0 + k (KW = kw, KH·KW = khw), and zeros in lanes [lanes, L).
  void (*pack_runs)(float* dst, int64_t L, int64_t lanes, const float* const* src, const int64_t* lane,
                    const int64_t* count, int64_t nruns, int64_t k0, int64_t kc, int64_t kw, int64_t khw,
                    int64_t plane, int64_t row);
  // dst[i] = base[offsets[i]] for i < n (the vector gathers where the variant has them).
  void (*gather_f32)(float* dst, const float* base, const int32_t* offsets, int64_t n);
  // dst[i] = image[chan[i] + y·w + x] with (y, x) = (y0 + dy[i], x0 + dx[i]) inside the h × w image, else 0:
  // a window that overhangs the image border.
  void (*gather_window_f32)(float* dst, const float* image, const int32_t* chan, const int32_t* dy,
                            const int32_t* dx, int32_t y0, int32_t x0, int32_t h, int32_t w, int64_t n);
  // Batch norm over one plane, the maps of kernels/batchnorm.hpp: y = fma(gamma, (x − mean)·invstd, beta);
  // dx = k · fma(−x̂, dgamma, M·dy − dbeta).
  void (*bn_apply_plane)(float* y, const float* x, int64_t n, float mean, float invstd, float gamma,
                         float beta);
  void (*bn_dx_plane)(float* dx, const float* dy, const float* x, int64_t n, float mean, float invstd,
                      float k, float M, float dgamma, float dbeta);
  // `count` channels' chunk sums (stride apart) advanced over len elements each, in order (BnChain).
  void (*bn_chains)(BnChain op, float* part, const float* x, const float* dy, int64_t stride, int64_t len,
                    const float* mean, const float* invstd, int64_t count);
  // acc[j] = fma(w, x[j], acc[j]) for j < n: one tap of a direct convolution row (kernels/conv.hpp order).
  void (*axpy_fma)(float* acc, float w, const float* x, int64_t n);
  // One output row of a stride-1 conv with few taps from its zero-bordered input: out[co·ld + t] = the fma chain
  // over k < K in order from 0 of w[co·K + k] · src[koff[k] + t], t < n, co < co_count (the GEMM's chain), then
  // + bias[co] unless bias is null.
  void (*conv_direct_row)(float* out, int64_t ld, const float* w, const float* bias, int64_t co_count,
                          int64_t K, const float* src, const int64_t* koff, int64_t n);
  // One kReduceChunk chunk of a stride-1 conv's weight gradient with K ≤ 16 taps: part[k·32 + l] = the fma chain
  // from 0, in step order, of gt[t·32 + l] · x_t[koff[k]] (gt: dout with 32 lanes along Co; x_t: the window
  // corner of step t, runs r of count[r] steps from corner[r] onwards); with_sum: also part[K·32 + l] = the sum
  // from 0, in step order, of gt[t·32 + l] (the bias gradient's part).
  void (*wgrad_taps)(float* part, const float* gt, const float* const* corner, const int64_t* count,
                     int64_t nruns, const int64_t* koff, int64_t K, bool with_sum);
  // Max pooling of one plane p [H = 2·OH (+1), W] with a 2×2 window, stride 2, no padding: out and argmax
  // [OH, OW] as kern::maxpool2d_one gives them (argmax indexes the plane).
  void (*maxpool2x2_plane)(float* out, int32_t* argmax, const float* p, int64_t W, int64_t OH, int64_t OW);
  // Max pooling of one output row oh with any window (k × k, stride, pad): out and argmax [OW] from the plane
  // p [H, W] as kern::maxpool2d_one gives them.
  void (*maxpool_row)(float* out, int32_t* argmax, const float* p, int64_t H, int64_t W, int64_t oh,
                      int64_t OW, int64_t k, int64_t stride, int64_t pad);
  // dst[j·ld_dst + i] = src[i·ld_src + j] for one transpose_tile_size² tile (data movement only).
  int64_t transpose_tile_size;
  void (*transpose_tile)(float* dst, int64_t ld_dst, const float* src, int64_t ld_src);
  // dst[t·L + l] = rows[l][t] for t < n, l < lanes: runs interleaved into a packed strip (data movement only).
  void (*rows_to_lanes)(float* dst, int64_t L, const float* const* rows, int64_t lanes, int64_t n);
};

// The variants compiled into this binary (defined in isa_<name>.cpp).
const IsaKernels& isa_kernels_baseline();
#if defined(PRISM_ISA_X86)
const IsaKernels& isa_kernels_avx2();
const IsaKernels& isa_kernels_avx512();
#endif

const char* isa_name(Isa isa);
// "avx512" | "avx2" | "baseline"; throws prism::Error naming PRISM_ISA-style choices otherwise.
Isa parse_isa(const std::string& name);
// Compiled into this binary and supported by this CPU (and its OS: AVX state enabled).
bool isa_supported(Isa isa);
std::vector<Isa> supported_isas();  // lowest first
// The active variant: chosen on first use (PRISM_ISA, else the best supported), then fixed until set_isa.
const IsaKernels& isa_kernels();
Isa active_isa();
// Forces a variant (tests, benchmarks); throws prism::Error when this CPU or build lacks it.
void set_isa(Isa isa);
// "avx2 (of baseline, avx2 on this CPU; PRISM_ISA unset)": for `prism --version` and `prism bench`.
std::string isa_description();

}  // namespace prism::cpu
