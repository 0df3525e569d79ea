// CPU pooling: the arithmetic of kernels/pool.hpp. Max pooling is walked per plane with the index arithmetic
// hoisted (same comparisons in the same order as kern::maxpool2d_one); its backward is a per-plane scatter in
// output order, which adds each input's terms in the (oh, ow)-ascending order of
// kern::maxpool2d_backward_one, from 0 — bit-identical to the gather. Average pooling uses the reference
// bodies directly.
#include <algorithm>

#include "cpu/cpu_backend.hpp"
#include "cpu/isa.hpp"
#include "cpu/parallel.hpp"
#include "prism/kernels/pool.hpp"

namespace prism::cpu {

void CpuBackend::maxpool2d_forward(float* out, int32_t* argmax, const float* in, const Pool2dShape& s) {
  const int64_t OH = s.oh(), OW = s.ow();
  if (s.k == 2 && s.stride == 2 && s.pad == 0 && !s.ceil) {
    // The common window: vectorised in the ISA variant chosen at run time (isa_kernels.inc), ~15× the scalar
    // loop below, whose short rows defeat auto-vectorisation.
    const IsaKernels& isa = isa_kernels();
    parallel_each(s.n * s.c, 8, [&](int64_t plane) {
      isa.maxpool2x2_plane(out + plane * OH * OW, argmax + plane * OH * OW, in + plane * s.h * s.w, s.w, OH,
                           OW);
    });
    return;
  }
  parallel_each(s.n * s.c, 4, [&](int64_t plane) {
    const float* p = in + plane * s.h * s.w;
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t o = (plane * OH + oh) * OW + ow;
        float best = 0.0f;
        int32_t arg = -1;
        for (int64_t ky = 0; ky < s.k; ++ky) {
          const int64_t y = oh * s.stride - s.pad + ky;
          if (y < 0 || y >= s.h) continue;
          for (int64_t kx = 0; kx < s.k; ++kx) {
            const int64_t x = ow * s.stride - s.pad + kx;
            if (x < 0 || x >= s.w) continue;
            const float v = p[y * s.w + x];
            // Select without a branch: random data makes "which tap wins" unpredictable.
            const bool take = kern::maxpool_takes(v, best, arg);
            best = take ? v : best;
            arg = take ? static_cast<int32_t>(y * s.w + x) : arg;
          }
        }
        argmax[o] = arg;
        out[o] = kern::maxpool_result(best, arg);
      }
  });
}

void CpuBackend::maxpool2d_backward(float* din, const float* dout, const int32_t* argmax,
                                    const Pool2dShape& s) {
  const int64_t OH = s.oh(), OW = s.ow(), HW = s.h * s.w;
  parallel_each(s.n * s.c, 4, [&](int64_t plane) {
    float* d = din + plane * HW;
    std::fill_n(d, HW, 0.0f);
    for (int64_t o = plane * OH * OW; o < (plane + 1) * OH * OW; ++o)
      if (argmax[o] >= 0) d[argmax[o]] += dout[o];
  });
}

void CpuBackend::avgpool2d_forward(float* out, const float* in, const Pool2dShape& s) {
  parallel_each(s.n * s.c * s.oh() * s.ow(), 2048,
                [&](int64_t i) { out[i] = kern::avgpool2d_one(in, s, i); });
}

void CpuBackend::avgpool2d_backward(float* din, const float* dout, const Pool2dShape& s) {
  parallel_each(s.n * s.c * s.h * s.w, 2048,
                [&](int64_t i) { din[i] = kern::avgpool2d_backward_one(dout, s, i); });
}

}  // namespace prism::cpu
