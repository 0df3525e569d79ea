// The AVX-512 variant of the CPU hot kernels (fast path; compiled with -mavx512f/bw/dq/vl, selected at run
// time by isa.cpp). The kernels are in isa_kernels.inc.
#include <immintrin.h>
// GCC 12 reports its own _mm512_undefined_ps() idiom inside the shuffle intrinsics as uninitialised (GCC bug
// 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define PRISM_VARIANT_AVX512 1
#define PRISM_VARIANT_NS isa_avx512
#include "cpu/isa_kernels.inc"

namespace prism::cpu {
const IsaKernels& isa_kernels_avx512() {
  static const IsaKernels k{Isa::avx512,
                            "avx512",
                            isa_avx512::MR,
                            isa_avx512::NR,
                            isa_avx512::gemm_micro,
                            isa_avx512::fma_arrays,
                            isa_avx512::copy_run,
                            isa_avx512::col2im_row,
                            isa_avx512::pack_runs,
                            isa_avx512::gather_f32,
                            isa_avx512::gather_window_f32,
                            isa_avx512::bn_apply_plane,
                            isa_avx512::bn_dx_plane,
                            isa_avx512::bn_chains,
                            isa_avx512::axpy_fma,
                            isa_avx512::conv_direct_row,
                            isa_avx512::wgrad_taps,
                            isa_avx512::maxpool2x2_plane,
                            isa_avx512::maxpool_row,
                            isa_avx512::kTransposeTile,
                            isa_avx512::transpose_tile,
                            isa_avx512::rows_to_lanes};
  return k;
}
}  // namespace prism::cpu
