// CUDA elementwise kernels. Exact: the bodies of cuda/exact/elementwise.hpp (portable exp/log). Fast: the
// same kernels except exp and log, which use CUDA's expf/logf (full-precision library versions, not the
// __expf intrinsics: --use_fast_math is never set).
#include "cuda/cuda_backend.hpp"
#include "cuda/exact/elementwise.hpp"
#include "cuda/launch.cuh"

namespace prism::cuda {

namespace {
struct FastExpLog {
  bool is_exp;
  float* out;
  const float* in;
  __device__ void operator()(int64_t i) const { out[i] = is_exp ? expf(in[i]) : logf(in[i]); }
};
}  // namespace

void CudaBackend::unary_forward(UnaryOp op, float* out, const float* in, int64_t n) {
  Launcher launch(*this);
  if (mode() == Mode::fast && (op == UnaryOp::exp || op == UnaryOp::log)) {
    launch.each(n, FastExpLog{op == UnaryOp::exp, out, in}, "unary_forward (fast exp/log)");
    return;
  }
  exact::unary_forward(launch, op, out, in, n);
}

void CudaBackend::unary_backward(UnaryOp op, float* din, const float* dout, const float* in, const float* out,
                                 int64_t n) {
  Launcher launch(*this);
  exact::unary_backward(launch, op, din, dout, in, out, n);
}

void CudaBackend::binary(BinaryOp op, float* out, const float* a, const float* b, int64_t n) {
  Launcher launch(*this);
  exact::binary(launch, op, out, a, b, n);
}

void CudaBackend::binary_scalar(BinaryOp op, float* out, const float* a, float b, int64_t n) {
  Launcher launch(*this);
  exact::binary_scalar(launch, op, out, a, b, n);
}

void CudaBackend::broadcast_binary(BinaryOp op, float* out, const float* a, const float* b, int64_t outer,
                                   int64_t mid, int64_t inner) {
  Launcher launch(*this);
  exact::broadcast_binary(launch, op, out, a, b, outer, mid, inner);
}

}  // namespace prism::cuda
