// Small helpers shared by the op implementations: argument checks with messages that name the op, and output
// allocation on the inputs' device. Reference code.
#pragma once
#include <string>

#include "prism/core/autograd.hpp"
#include "prism/core/runtime.hpp"
#include "prism/core/tensor.hpp"

namespace prism::detail {

inline void require(bool ok, const char* op, const std::string& what) {
  if (!ok) throw Error(std::string(op) + ": " + what);
}

inline void require_f32(const Tensor& t, const char* op, const char* name) {
  require(t.defined(), op, std::string(name) + " is undefined");
  require(t.dtype() == DType::f32, op, std::string(name) + " must be f32, got " + t.describe());
}

inline void require_same_device(const Tensor& a, const Tensor& b, const char* op) {
  require(!b.defined() || a.device() == b.device(), op,
          "inputs on different devices: " + a.describe() + " and " + b.describe());
  // Two backends can serve one device in a process (the real CUDA backend, then the emulator in its slot).
  require(!b.defined() || &a.backend() == &b.backend(), op,
          "inputs made by different backends of " + std::string(device_name(a.device())) + ": " +
              a.describe() + " and " + b.describe() +
              " (one made before use_cuda_emulator switched the slot?)");
}

inline Tensor like(const Tensor& t, const Shape& shape) {
  return Tensor::empty(shape, DType::f32, t.device());
}
inline Tensor like(const Tensor& t) {
  return like(t, t.shape());
}

// out[o, m, i] = 0 + b[m] for an [outer, mid, inner] output (broadcast of a per-row/per-channel vector; the
// addition to +0 is the definition: a −0 in b becomes +0).
inline Tensor expand_mid(const Tensor& b, int64_t outer, int64_t mid, int64_t inner, const Shape& shape) {
  Tensor out =
      Tensor::zeros(shape, DType::f32, b.device());  // then 0 + b in place: no second tensor of zeros
  b.backend_for(Op::broadcast_binary)
      .broadcast_binary(BinaryOp::add, out.data_f32(), out.data_f32(), b.data_f32(), outer, mid, inner);
  return out;
}

}  // namespace prism::detail
