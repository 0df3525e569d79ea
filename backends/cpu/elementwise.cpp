// CPU elementwise kernels. Exact: the reference bodies of kernels/elementwise.hpp (portable exp/log).
// Fast: the same loops with libm's expf/logf.
#include <cmath>
#include <type_traits>

#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"
#include "prism/kernels/elementwise.hpp"

namespace prism::cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;

// Calls f with the op as a compile-time constant, so the switch inside the kernel bodies folds away and the
// element loops vectorise (a run-time switch per element costs several times the arithmetic).
template <class F>
void with_unary(UnaryOp op, F&& f) {
  switch (op) {
    case UnaryOp::relu:
      return f(std::integral_constant<UnaryOp, UnaryOp::relu>{});
    case UnaryOp::exp:
      return f(std::integral_constant<UnaryOp, UnaryOp::exp>{});
    case UnaryOp::log:
      return f(std::integral_constant<UnaryOp, UnaryOp::log>{});
    case UnaryOp::neg:
      return f(std::integral_constant<UnaryOp, UnaryOp::neg>{});
    case UnaryOp::square:
      return f(std::integral_constant<UnaryOp, UnaryOp::square>{});
    case UnaryOp::sqrt:
      return f(std::integral_constant<UnaryOp, UnaryOp::sqrt>{});
  }
}
template <class F>
void with_binary(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::add:
      return f(std::integral_constant<BinaryOp, BinaryOp::add>{});
    case BinaryOp::sub:
      return f(std::integral_constant<BinaryOp, BinaryOp::sub>{});
    case BinaryOp::mul:
      return f(std::integral_constant<BinaryOp, BinaryOp::mul>{});
    case BinaryOp::div:
      return f(std::integral_constant<BinaryOp, BinaryOp::div>{});
  }
}
}  // namespace

void CpuBackend::unary_forward(UnaryOp op, float* out, const float* in, int64_t n) {
  if (mode() == Mode::fast && (op == UnaryOp::exp || op == UnaryOp::log)) {
    if (op == UnaryOp::exp)
      parallel_each(n, kGrain, [&](int64_t i) { out[i] = std::exp(in[i]); });
    else
      parallel_each(n, kGrain, [&](int64_t i) { out[i] = std::log(in[i]); });
    return;
  }
  with_unary(op, [&](auto k) {
    parallel_each(n, kGrain, [&](int64_t i) { out[i] = kern::unary_one(k(), in[i]); });
  });
}

void CpuBackend::unary_backward(UnaryOp op, float* din, const float* dout, const float* in, const float* out,
                                int64_t n) {
  // Ops that do not read `in` or `out` may get null; point those at dout so the loop has no branch.
  const float* x = in ? in : dout;
  const float* y = out ? out : dout;
  with_unary(op, [&](auto k) {
    parallel_each(n, kGrain, [&](int64_t i) { din[i] = kern::unary_backward_one(k(), dout[i], x[i], y[i]); });
  });
}

void CpuBackend::binary(BinaryOp op, float* out, const float* a, const float* b, int64_t n) {
  with_binary(op, [&](auto k) {
    parallel_each(n, kGrain, [&](int64_t i) { out[i] = kern::binary_one(k(), a[i], b[i]); });
  });
}

void CpuBackend::binary_scalar(BinaryOp op, float* out, const float* a, float b, int64_t n) {
  with_binary(op, [&](auto k) {
    parallel_each(n, kGrain, [&](int64_t i) { out[i] = kern::binary_one(k(), a[i], b); });
  });
}

void CpuBackend::broadcast_binary(BinaryOp op, float* out, const float* a, const float* b, int64_t outer,
                                  int64_t mid, int64_t inner) {
  parallel_each(outer * mid, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t om) {
    const float bv = b[om % mid];
    with_binary(op, [&](auto k) {
      for (int64_t i = 0; i < inner; ++i) out[om * inner + i] = kern::binary_one(k(), a[om * inner + i], bv);
    });
  });
}

}  // namespace prism::cpu
