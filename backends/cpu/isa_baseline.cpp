// The baseline variant of the CPU hot kernels (fast path): plain x86-64 (SSE2, no FMA unit assumed: the fma
// is the round-to-odd emulation of isa_kernels.inc), or generic C++ on other targets. Compiled without
// -march=native, so it runs on any CPU of the target.
#include "cpu/isa.hpp"
#if defined(PRISM_ISA_X86)
#include <emmintrin.h>
#define PRISM_VARIANT_SSE2 1
#endif
#define PRISM_VARIANT_NS isa_baseline
#include "cpu/isa_kernels.inc"

namespace prism::cpu {
const IsaKernels& isa_kernels_baseline() {
#if defined(PRISM_ISA_X86)
  static const char* const name = "baseline";
#else
  static const char* const name = "generic";
#endif
  static const IsaKernels k{Isa::baseline,
                            name,
                            isa_baseline::MR,
                            isa_baseline::NR,
                            isa_baseline::gemm_micro,
                            isa_baseline::fma_arrays,
                            isa_baseline::copy_run,
                            isa_baseline::col2im_row,
                            isa_baseline::pack_runs,
                            isa_baseline::gather_f32,
                            isa_baseline::gather_window_f32,
                            isa_baseline::bn_apply_plane,
                            isa_baseline::bn_dx_plane,
                            isa_baseline::bn_chains,
                            isa_baseline::axpy_fma,
                            isa_baseline::conv_direct_row,
                            isa_baseline::wgrad_taps,
                            isa_baseline::maxpool2x2_plane,
                            isa_baseline::maxpool_row,
                            isa_baseline::kTransposeTile,
                            isa_baseline::transpose_tile,
                            isa_baseline::rows_to_lanes};
  return k;
}
}  // namespace prism::cpu
