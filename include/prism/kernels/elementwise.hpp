// Elementwise kernels, reference definition of one output (host and device), templated on the scalar type so
// the gradient checks can run them in double. Exact mode uses the portable exp/log; fast mode may use
// libm/intrinsics.
#pragma once
#include <cmath>

#include "prism/kernels/params.hpp"
#include "prism/kernels/pmath.hpp"

namespace prism::kern {

template <class T>
PRISM_HD T exp_t(T x);
template <>
PRISM_HD float exp_t<float>(float x) {
  return exp_portable(x);
}
template <>
PRISM_HD double exp_t<double>(double x) {
  return ::exp(x);
}
template <class T>
PRISM_HD T log_t(T x);
template <>
PRISM_HD float log_t<float>(float x) {
  return log_portable(x);
}
template <>
PRISM_HD double log_t<double>(double x) {
  return ::log(x);
}

template <class T>
PRISM_HD T sqrt_t(T x);
template <>
PRISM_HD float sqrt_t<float>(float x) {
  return ::sqrtf(x);  // IEEE, correctly rounded on host and device (nvcc: --prec-sqrt=true)
}
template <>
PRISM_HD double sqrt_t<double>(double x) {
  return ::sqrt(x);
}

template <class T>
PRISM_HD T unary_one(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::relu:
      return x < T(0) ? T(0) : x;  // NaN passes through, so a NaN loss is still seen
    case UnaryOp::exp:
      return exp_t<T>(x);
    case UnaryOp::log:
      return log_t<T>(x);
    case UnaryOp::neg:
      return -x;
    case UnaryOp::square:
      return x * x;
    case UnaryOp::sqrt:
      return sqrt_t<T>(x);
  }
  return x;
}

// d(in) given d(out), the input and the forward output. ReLU'(0) = 0 (subgradient choice, as torch).
template <class T>
PRISM_HD T unary_backward_one(UnaryOp op, T dout, T in, T out) {
  switch (op) {
    case UnaryOp::relu:
      return in > T(0) ? dout : T(0);
    case UnaryOp::exp:
      return dout * out;
    case UnaryOp::log:
      return dout / in;
    case UnaryOp::neg:
      return -dout;
    case UnaryOp::square:
      return (in + in) * dout;
    case UnaryOp::sqrt:
      return dout / (out + out);
  }
  return dout;
}

template <class T>
PRISM_HD T binary_one(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add:
      return a + b;
    case BinaryOp::sub:
      return a - b;
    case BinaryOp::mul:
      return a * b;
    case BinaryOp::div:
      return a / b;
  }
  return a;
}

}  // namespace prism::kern
