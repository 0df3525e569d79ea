// CPU pooling: the reference bodies of kernels/pool.hpp, parallel over outputs (forward) or inputs (backward
// gathers). Exact and fast modes share them.
#include "prism/kernels/pool.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace prism::cpu {

void CpuBackend::maxpool2d_forward(float* out, int32_t* argmax, const float* in, const Pool2dShape& s) {
  parallel_each(s.n * s.c * s.oh() * s.ow(), 2048,
                [&](int64_t i) { out[i] = kern::maxpool2d_one(in, s, i, argmax + i); });
}

void CpuBackend::maxpool2d_backward(float* din, const float* dout, const int32_t* argmax,
                                    const Pool2dShape& s) {
  parallel_each(s.n * s.c * s.h * s.w, 2048,
                [&](int64_t i) { din[i] = kern::maxpool2d_backward_one(dout, argmax, s, i); });
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
