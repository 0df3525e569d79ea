// Matrix products: matmul (with transposes), linear, gram, transpose. Forward products use the chain order;
// every gradient product — weight and input gradients alike — uses the chunked order (DESIGN §3.3): the
// weight gradients' reductions run over the batch, and for K ≤ 256 the chunked order is the chain.
#include "ops_common.hpp"
#include "prism/core/ops.hpp"

namespace prism {

using detail::like;
using detail::require;
using detail::require_f32;
using detail::require_same_device;

namespace {
Tensor gemm_new(const Tensor& a, const Tensor& b, int64_t M, int64_t N, int64_t K, bool ta, bool tb,
                GemmOrder order) {
  Tensor c = like(a, {M, N});
  a.backend_for(Op::gemm).gemm(c.data_f32(), a.data_f32(), b.data_f32(), M, N, K, ta, tb, 1.0f, order);
  return c;
}
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  require_f32(a, "matmul", "a");
  require_f32(b, "matmul", "b");
  require_same_device(a, b, "matmul");
  require(a.dim() == 2 && b.dim() == 2, "matmul",
          "needs 2-D inputs, got " + a.describe() + " and " + b.describe());
  const int64_t M = ta ? a.size(1) : a.size(0), K = ta ? a.size(0) : a.size(1);
  const int64_t Kb = tb ? b.size(1) : b.size(0), N = tb ? b.size(0) : b.size(1);
  require(K == Kb, "matmul",
          "inner sizes differ: " + a.describe() + (ta ? "ᵀ" : "") + " · " + b.describe() + (tb ? "ᵀ" : ""));
  Tensor c = gemm_new(a, b, M, N, K, ta, tb, GemmOrder::chain);
  Tensor A = a.detach(), B = b.detach();
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  record(c, "matmul", {a, b}, [A, B, M, N, K, ta, tb, need_a, need_b](const Tensor& g) {
    Tensor da, db;
    if (need_a)
      da = ta ? gemm_new(B, g, K, M, N, tb, true, GemmOrder::chunked)     // dA = op(B) · dCᵀ, stored K×M
              : gemm_new(g, B, M, K, N, false, !tb, GemmOrder::chunked);  // dA = dC · op(B)ᵀ
    if (need_b)
      db = tb ? gemm_new(g, A, N, K, M, true, ta, GemmOrder::chunked)     // dB = dCᵀ · op(A), stored N×K
              : gemm_new(A, g, K, N, M, !ta, false, GemmOrder::chunked);  // dB = op(A)ᵀ · dC
    return std::vector<Tensor>{da, db};
  });
  return c;
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  require(x.dim() == 2 && w.dim() == 2 && x.size(1) == w.size(1), "linear",
          "x [N, in] and w [out, in] expected, got " + x.describe() + " and " + w.describe());
  Tensor y = matmul(x, w, false, true);
  return b.defined() ? add(y, b) : y;
}

Tensor gram(const Tensor& x) {
  require_f32(x, "gram", "x");
  require(x.dim() == 2, "gram", "needs [N, D], got " + x.describe());
  const int64_t N = x.size(0), D = x.size(1);
  Tensor c = gemm_new(x, x, N, N, D, false, true, GemmOrder::chain);
  Tensor X = x.detach();
  record(c, "gram", {x}, [X, N, D](const Tensor& g) {
    Tensor gt = like(g), sym = like(g);
    g.backend_for(Op::transpose).transpose(gt.data_f32(), g.data_f32(), 1, N, N);
    g.backend_for(Op::binary).binary(BinaryOp::add, sym.data_f32(), g.data_f32(), gt.data_f32(), N * N);
    return std::vector<Tensor>{gemm_new(sym, X, N, D, N, false, false, GemmOrder::chunked)};
  });
  return c;
}

Tensor transpose(const Tensor& x) {
  require_f32(x, "transpose", "x");
  require(x.dim() == 2, "transpose", "needs a 2-D tensor, got " + x.describe());
  const int64_t R = x.size(0), C = x.size(1);
  Tensor y = like(x, {C, R});
  x.backend_for(Op::transpose).transpose(y.data_f32(), x.data_f32(), 1, R, C);
  record(y, "transpose", {x}, [R, C](const Tensor& g) {
    Tensor gx = like(g, {R, C});
    g.backend_for(Op::transpose).transpose(gx.data_f32(), g.data_f32(), 1, C, R);
    return std::vector<Tensor>{gx};
  });
  return y;
}

}  // namespace prism
