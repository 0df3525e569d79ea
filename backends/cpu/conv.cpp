// CPU im2col / col2im: the reference element definitions of kernels/conv.hpp, parallel over rows / input
// elements. Exact and fast modes share them (they only move data, col2im's gather order is fixed).
#include "prism/kernels/conv.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace prism::cpu {

void CpuBackend::im2col(float* col, const float* in, const Conv2dShape& s) {
  const int64_t rows = s.n * s.oh() * s.ow(), ckk = s.c * s.kh * s.kw;
  parallel_each(rows, 64, [&](int64_t r) {
    for (int64_t k = 0; k < ckk; ++k) col[r * ckk + k] = kern::im2col_one(in, s, r, k);
  });
}

void CpuBackend::col2im(float* din, const float* col, const Conv2dShape& s) {
  parallel_each(s.n * s.c * s.h * s.w, 1024, [&](int64_t i) { din[i] = kern::col2im_one(col, s, i); });
}

}  // namespace prism::cpu
