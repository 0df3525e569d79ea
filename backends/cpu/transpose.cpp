// CPU transpose (batched [rows, cols] → [cols, rows]): data movement only, so any visiting order gives the
// same result in both modes. Square register tiles from the ISA variant chosen at run time (16×16 AVX-512,
// 8×8 AVX2, 4×4 SSE2: about 3× a scalar blocked loop on the conv layout changes), scalar edges.
#include <algorithm>

#include "cpu/cpu_backend.hpp"
#include "cpu/isa.hpp"
#include "cpu/parallel.hpp"

namespace prism::cpu {

void CpuBackend::transpose(float* out, const float* in, int64_t batch, int64_t rows, int64_t cols) {
  const IsaKernels& isa = isa_kernels();
  const int64_t T = isa.transpose_tile_size;
  const int64_t row_tiles = (rows + T - 1) / T;
  parallel_each(batch * row_tiles, 4, [&](int64_t task) {
    const int64_t b = task / row_tiles, r0 = task % row_tiles * T, r1 = std::min(rows, r0 + T);
    const float* src = in + b * rows * cols;
    float* dst = out + b * rows * cols;
    const int64_t full = r1 - r0 == T ? cols / T * T : 0;
    for (int64_t c0 = 0; c0 < full; c0 += T)
      isa.transpose_tile(dst + c0 * rows + r0, rows, src + r0 * cols + c0, cols);
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = full; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  });
}

}  // namespace prism::cpu
