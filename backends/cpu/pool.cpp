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
  // Any other window (the ResNet stem's 3 × 3 / 2, padding 1; ceil mode): a row of outputs at a time, one
  // masked vector gather per tap in the AVX variants (the taps and their rule as kern::maxpool2d_one's).
  const IsaKernels& isa = isa_kernels();
  parallel_each(s.n * s.c * OH, 8, [&](int64_t row) {
    const int64_t plane = row / OH, oh = row % OH;
    isa.maxpool_row(out + row * OW, argmax + row * OW, in + plane * s.h * s.w, s.h, s.w, oh, OW, s.k,
                    s.stride, s.pad);
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
