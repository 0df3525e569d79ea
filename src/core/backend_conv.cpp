// The definition (and default implementation) of Backend::conv2d_forward / conv2d_backward: conv2d as the
// composition im2col → GEMM → transpose (→ + bias) of the backend's own primitives, and its gradients, with
// scratch from its allocator.
// Reference path; the CPU backend overrides both with a fused one (backends/cpu/conv.cpp).
#include "prism/backend.hpp"

namespace prism {

namespace {

// Backend memory for one call's intermediates, freed when the call returns.
class Scratch {
 public:
  Scratch(Backend& be, int64_t floats)
      : be_(be),
        bytes_(static_cast<size_t>(floats) * sizeof(float)),
        p_(static_cast<float*>(be.alloc(bytes_))) {}
  ~Scratch() { be_.dealloc(p_, bytes_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* get() const { return p_; }

 private:
  Backend& be_;
  size_t bytes_;
  float* p_;
};

}  // namespace

void Backend::conv2d_forward(float* out, const float* in, const float* w, const float* bias,
                             const Conv2dShape& s, int64_t co) {
  const int64_t P = s.oh() * s.ow(), R = s.n * P, CKK = s.c * s.kh * s.kw;
  Scratch rows(*this, R * CKK), out_rows(*this, R * co);
  im2col(rows.get(), in, s);
  gemm(out_rows.get(), rows.get(), w, R, co, CKK, false, true, 1.0f, GemmOrder::chain);
  transpose(out, out_rows.get(), s.n, P, co);
  if (bias) broadcast_binary(BinaryOp::add, out, out, bias, s.n, co, P);
}

void Backend::conv2d_backward(float* dx, float* dw, float* db, const float* dout, const float* in,
                              const float* w, const Conv2dShape& s, int64_t co) {
  if (db) reduce_mid(db, dout, s.n, co, s.oh() * s.ow());
  if (!dx && !dw) return;
  const int64_t P = s.oh() * s.ow(), R = s.n * P, CKK = s.c * s.kh * s.kw;
  Scratch g_rows(*this, R * co);
  transpose(g_rows.get(), dout, s.n, co, P);
  if (dw) {
    Scratch rows(*this, R * CKK);
    im2col(rows.get(), in, s);
    gemm(dw, g_rows.get(), rows.get(), co, CKK, R, true, false, 1.0f, GemmOrder::chunked);
  }
  if (dx) {
    Scratch d_rows(*this, R * CKK);
    gemm(d_rows.get(), g_rows.get(), w, R, CKK, co, false, false, 1.0f, GemmOrder::chunked);
    col2im(dx, d_rows.get(), s);
  }
}

}  // namespace prism
