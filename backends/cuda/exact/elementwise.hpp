// Exact-mode elementwise kernels of the CUDA backend: one thread per output, each calling the reference body
// of kernels/elementwise.hpp (portable exp/log, IEEE division and sqrt). Host and device.
#pragma once
#include "cuda/exact/launch.hpp"
#include "prism/kernels/elementwise.hpp"

namespace prism::cuda::exact {

struct Unary {
  UnaryOp op;
  float* out;
  const float* in;
  PRISM_HD void operator()(int64_t i) const { out[i] = kern::unary_one(op, in[i]); }
};

// `in` or `out` may be null when the op does not read it (the CPU backend passes 0 then, and so do we).
struct UnaryBackward {
  UnaryOp op;
  float* din;
  const float* dout;
  const float* in;
  const float* out;
  PRISM_HD void operator()(int64_t i) const {
    din[i] = kern::unary_backward_one(op, dout[i], in ? in[i] : 0.0f, out ? out[i] : 0.0f);
  }
};

struct Binary {
  BinaryOp op;
  float* out;
  const float* a;
  const float* b;
  PRISM_HD void operator()(int64_t i) const { out[i] = kern::binary_one(op, a[i], b[i]); }
};

struct BinaryScalar {
  BinaryOp op;
  float* out;
  const float* a;
  float b;
  PRISM_HD void operator()(int64_t i) const { out[i] = kern::binary_one(op, a[i], b); }
};

// out[o, m, i] = a[o, m, i] op b[m].
struct BroadcastBinary {
  BinaryOp op;
  float* out;
  const float* a;
  const float* b;
  int64_t mid, inner;
  PRISM_HD void operator()(int64_t idx) const {
    out[idx] = kern::binary_one(op, a[idx], b[(idx / inner) % mid]);
  }
};

template <class L>
void unary_forward(L& launch, UnaryOp op, float* out, const float* in, int64_t n) {
  launch.each(n, Unary{op, out, in}, "unary_forward");
}

template <class L>
void unary_backward(L& launch, UnaryOp op, float* din, const float* dout, const float* in, const float* out,
                    int64_t n) {
  launch.each(n, UnaryBackward{op, din, dout, in, out}, "unary_backward");
}

template <class L>
void binary(L& launch, BinaryOp op, float* out, const float* a, const float* b, int64_t n) {
  launch.each(n, Binary{op, out, a, b}, "binary");
}

template <class L>
void binary_scalar(L& launch, BinaryOp op, float* out, const float* a, float b, int64_t n) {
  launch.each(n, BinaryScalar{op, out, a, b}, "binary_scalar");
}

template <class L>
void broadcast_binary(L& launch, BinaryOp op, float* out, const float* a, const float* b, int64_t outer,
                      int64_t mid, int64_t inner) {
  if (inner <= 0 || mid <= 0) return;
  launch.each(outer * mid * inner, BroadcastBinary{op, out, a, b, mid, inner}, "broadcast_binary");
}

}  // namespace prism::cuda::exact
