// CPU elementwise kernels. Exact: the reference bodies of kernels/elementwise.hpp (portable exp/log).
// Fast: the same loops with libm's expf/logf.
#include <cmath>

#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"
#include "prism/core/runtime.hpp"
#include "prism/kernels/elementwise.hpp"

namespace prism::cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;
}

void CpuBackend::unary_forward(UnaryOp op, float* out, const float* in, int64_t n) {
  if (mode() == Mode::fast && (op == UnaryOp::exp || op == UnaryOp::log)) {
    if (op == UnaryOp::exp)
      parallel_each(n, kGrain, [&](int64_t i) { out[i] = std::exp(in[i]); });
    else
      parallel_each(n, kGrain, [&](int64_t i) { out[i] = std::log(in[i]); });
    return;
  }
  parallel_each(n, kGrain, [&](int64_t i) { out[i] = kern::unary_one(op, in[i]); });
}

void CpuBackend::unary_backward(UnaryOp op, float* din, const float* dout, const float* in, const float* out,
                                int64_t n) {
  parallel_each(n, kGrain, [&](int64_t i) {
    din[i] = kern::unary_backward_one(op, dout[i], in ? in[i] : 0.0f, out ? out[i] : 0.0f);
  });
}

void CpuBackend::binary(BinaryOp op, float* out, const float* a, const float* b, int64_t n) {
  parallel_each(n, kGrain, [&](int64_t i) { out[i] = kern::binary_one(op, a[i], b[i]); });
}

void CpuBackend::binary_scalar(BinaryOp op, float* out, const float* a, float b, int64_t n) {
  parallel_each(n, kGrain, [&](int64_t i) { out[i] = kern::binary_one(op, a[i], b); });
}

void CpuBackend::broadcast_binary(BinaryOp op, float* out, const float* a, const float* b, int64_t outer,
                                  int64_t mid, int64_t inner) {
  parallel_each(outer * mid, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t om) {
    const float bv = b[om % mid];
    for (int64_t i = 0; i < inner; ++i) out[om * inner + i] = kern::binary_one(op, a[om * inner + i], bv);
  });
}

}  // namespace prism::cpu
