// The AVX2+FMA variant of the CPU hot kernels (fast path; compiled with -mavx2 -mfma only, selected at run
// time by isa.cpp). The kernels are in isa_kernels.inc.
#include <immintrin.h>

#define PRISM_VARIANT_AVX2 1
#define PRISM_VARIANT_NS isa_avx2
#include "cpu/isa_kernels.inc"

namespace prism::cpu {
const IsaKernels& isa_kernels_avx2() {
  static const IsaKernels k{Isa::avx2,
                            "avx2",
                            isa_avx2::MR,
                            isa_avx2::NR,
                            isa_avx2::gemm_micro,
                            isa_avx2::fma_arrays,
                            isa_avx2::copy_run,
                            isa_avx2::col2im_row,
                            isa_avx2::pack_runs,
                            isa_avx2::gather_f32,
                            isa_avx2::gather_window_f32,
                            isa_avx2::bn_apply_plane,
                            isa_avx2::bn_dx_plane,
                            isa_avx2::bn_chains,
                            isa_avx2::axpy_fma,
                            isa_avx2::conv_direct_row,
                            isa_avx2::wgrad_taps,
                            isa_avx2::maxpool2x2_plane,
                            isa_avx2::maxpool_row,
                            isa_avx2::kTransposeTile,
                            isa_avx2::transpose_tile,
                            isa_avx2::rows_to_lanes};
  return k;
}
}  // namespace prism::cpu
