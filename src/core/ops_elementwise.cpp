// Elementwise ops with the broadcasting the nets need (b of shape [a.size(1)] along axis 1), and their
// gradients.
#include "ops_common.hpp"
#include "prism/core/ops.hpp"

namespace prism {

using detail::expand_mid;
using detail::like;
using detail::require;
using detail::require_f32;
using detail::require_same_device;

namespace {

// [outer, mid, inner] view of `a` for a per-axis-1 vector b.
struct Broadcast {
  int64_t outer = 1, mid = 1, inner = 1;
};

bool is_axis1_broadcast(const Tensor& a, const Tensor& b, Broadcast* bc) {
  if (b.dim() != 1 || a.dim() < 2 || b.size(0) != a.size(1)) return false;
  bc->outer = a.size(0);
  bc->mid = a.size(1);
  bc->inner = a.numel() / (bc->outer * bc->mid);
  return true;
}

Tensor binary_op(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  require_f32(a, name, "a");
  require_f32(b, name, "b");
  require_same_device(a, b, name);
  Tensor out = like(a);
  Broadcast bc;
  const bool same = a.shape() == b.shape();
  require(same || is_axis1_broadcast(a, b, &bc), name,
          "shapes must match or b must be [a.size(1)]: " + a.describe() + " and " + b.describe());
  if (same)
    a.backend_for(Op::binary).binary(op, out.data_f32(), a.data_f32(), b.data_f32(), a.numel());
  else
    a.backend_for(Op::broadcast_binary)
        .broadcast_binary(op, out.data_f32(), a.data_f32(), b.data_f32(), bc.outer, bc.mid, bc.inner);

  Tensor A = a.detach(), B = b.detach();
  record(out, name, {a, b}, [op, A, B, same, bc](const Tensor& g) {
    Tensor ga, gb;
    // d/da
    if (op == BinaryOp::mul) {
      ga = like(g);
      if (same)
        g.backend_for(Op::binary).binary(BinaryOp::mul, ga.data_f32(), g.data_f32(), B.data_f32(), g.numel());
      else
        g.backend_for(Op::broadcast_binary)
            .broadcast_binary(BinaryOp::mul, ga.data_f32(), g.data_f32(), B.data_f32(), bc.outer, bc.mid,
                              bc.inner);
    } else {
      ga = g;
    }
    // d/db (summed over the broadcast axes)
    Tensor gb_full = g;
    if (op == BinaryOp::mul) {
      gb_full = like(g);
      g.backend_for(Op::binary)
          .binary(BinaryOp::mul, gb_full.data_f32(), g.data_f32(), A.data_f32(), g.numel());
    }
    if (same) {
      gb = gb_full;
    } else {
      gb = like(g, {bc.mid});
      g.backend_for(Op::reduce_mid).reduce_mid(gb.data_f32(), gb_full.data_f32(), bc.outer, bc.mid, bc.inner);
    }
    if (op == BinaryOp::sub) {
      Tensor neg = like(gb);
      g.backend_for(Op::unary_forward).unary_forward(UnaryOp::neg, neg.data_f32(), gb.data_f32(), gb.numel());
      gb = neg;
    }
    return std::vector<Tensor>{ga, gb};
  });
  return out;
}

Tensor unary_op(UnaryOp op, const char* name, const Tensor& x) {
  require_f32(x, name, "x");
  Tensor y = like(x);
  x.backend_for(Op::unary_forward).unary_forward(op, y.data_f32(), x.data_f32(), x.numel());
  Tensor X = x.detach(), Y = y.detach();
  record(y, name, {x}, [op, X, Y](const Tensor& g) {
    Tensor gx = like(g);
    g.backend_for(Op::unary_backward)
        .unary_backward(op, gx.data_f32(), g.data_f32(), X.data_f32(), Y.data_f32(), g.numel());
    return std::vector<Tensor>{gx};
  });
  return y;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return binary_op(BinaryOp::add, "add", a, b);
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return binary_op(BinaryOp::sub, "sub", a, b);
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return binary_op(BinaryOp::mul, "mul", a, b);
}

Tensor scale(const Tensor& a, float s) {
  require_f32(a, "scale", "a");
  Tensor out = like(a);
  a.backend_for(Op::binary_scalar).binary_scalar(BinaryOp::mul, out.data_f32(), a.data_f32(), s, a.numel());
  record(out, "scale", {a}, [s](const Tensor& g) {
    Tensor ga = like(g);
    g.backend_for(Op::binary_scalar).binary_scalar(BinaryOp::mul, ga.data_f32(), g.data_f32(), s, g.numel());
    return std::vector<Tensor>{ga};
  });
  return out;
}

Tensor add_scalar(const Tensor& a, float s) {
  require_f32(a, "add_scalar", "a");
  Tensor out = like(a);
  a.backend_for(Op::binary_scalar).binary_scalar(BinaryOp::add, out.data_f32(), a.data_f32(), s, a.numel());
  record(out, "add_scalar", {a}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor relu(const Tensor& x) {
  return unary_op(UnaryOp::relu, "relu", x);
}
Tensor exp(const Tensor& x) {
  return unary_op(UnaryOp::exp, "exp", x);
}
Tensor log(const Tensor& x) {
  return unary_op(UnaryOp::log, "log", x);
}
Tensor square(const Tensor& x) {
  return unary_op(UnaryOp::square, "square", x);
}

// ---- reductions -------------------------------------------------------------------------------------------

Tensor sum(const Tensor& x) {
  require_f32(x, "sum", "x");
  Tensor out = like(x, {1});
  x.backend_for(Op::reduce_sum).reduce_sum(out.data_f32(), x.data_f32(), x.numel());
  const Shape shape = x.shape();
  const int64_t n = x.numel();
  record(out, "sum", {x},
         [shape, n](const Tensor& g) { return std::vector<Tensor>{expand_mid(g, 1, 1, n, shape)}; });
  return out;
}

Tensor mean(const Tensor& x) {
  require_f32(x, "mean", "x");
  require(x.numel() > 0, "mean", "empty tensor");
  Tensor total = like(x, {1}), out = like(x, {1});
  const float n = static_cast<float>(x.numel());
  x.backend_for(Op::reduce_sum).reduce_sum(total.data_f32(), x.data_f32(), x.numel());
  x.backend_for(Op::binary_scalar).binary_scalar(BinaryOp::div, out.data_f32(), total.data_f32(), n, 1);
  const Shape shape = x.shape();
  record(out, "mean", {x}, [shape, n](const Tensor& g) {
    Tensor gs = like(g);
    g.backend_for(Op::binary_scalar).binary_scalar(BinaryOp::div, gs.data_f32(), g.data_f32(), n, 1);
    return std::vector<Tensor>{expand_mid(gs, 1, 1, shape_numel(shape), shape)};
  });
  return out;
}

Tensor sum_rows(const Tensor& x) {
  require_f32(x, "sum_rows", "x");
  require(x.dim() == 2, "sum_rows", "needs [R, C], got " + x.describe());
  const int64_t R = x.size(0), C = x.size(1);
  Tensor out = like(x, {R});
  x.backend_for(Op::reduce_inner).reduce_inner(out.data_f32(), x.data_f32(), R, C);
  record(out, "sum_rows", {x}, [R, C](const Tensor& g) {
    return std::vector<Tensor>{expand_mid(g, 1, R, C, {R, C})};
  });
  return out;
}

}  // namespace prism
