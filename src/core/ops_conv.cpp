// conv2d, max/avg pooling and global average pooling, with their gradients.
// Conv forward: Backend::conv2d_forward, defined as rows = im2col(x) [N·OH·OW, C·KH·KW]; out_rows = rows · Wᵀ
// (chain over (c, ky, kx)); out = per-image transpose to NCHW; then + bias. Backward: Backend::conv2d_backward,
// defined as g_rows = transpose(g); dW = g_rowsᵀ · rows (chunked over the N·OH·OW axis); d rows = g_rows · W
// (chunked over Co, as every backward GEMM: DESIGN §3.3); dx = col2im(d rows); db = Σ g over (n, oh, ow).
// Derivation: docs/autograd.md; the definition as code: src/core/backend_conv.cpp.
#include "ops_common.hpp"
#include "prism/core/ops.hpp"

namespace prism {

using detail::expand_mid;
using detail::like;
using detail::require;
using detail::require_f32;
using detail::require_same_device;

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t pad) {
  require_f32(x, "conv2d", "x");
  require_f32(w, "conv2d", "w");
  require_same_device(x, w, "conv2d");
  require_same_device(x, b, "conv2d");
  require(x.dim() == 4 && w.dim() == 4 && x.size(1) == w.size(1), "conv2d",
          "x [N, C, H, W] and w [Co, C, KH, KW] expected, got " + x.describe() + " and " + w.describe());
  require(stride >= 1 && pad >= 0, "conv2d", "stride must be >= 1 and pad >= 0");
  const Conv2dShape s{x.size(0), x.size(1), x.size(2), x.size(3), w.size(2), w.size(3), stride, pad};
  require(s.oh() > 0 && s.ow() > 0, "conv2d", "kernel larger than padded input " + x.describe());
  require(!b.defined() || (b.dim() == 1 && b.size(0) == w.size(0)), "conv2d", "bias must be [Co]");
  const int64_t Co = w.size(0);

  Tensor out = like(x, {s.n, Co, s.oh(), s.ow()});
  x.backend_for(Op::conv2d_forward)
      .conv2d_forward(out.data_f32(), x.data_f32(), w.data_f32(), b.defined() ? b.data_f32() : nullptr, s,
                      Co);

  // The backward reads x again (for dw) rather than a saved im2col matrix: x is alive anyway.
  Tensor X = x.detach(), W = w.detach();
  const bool need_x = x.requires_grad(), need_w = w.requires_grad(),
             need_b = b.defined() && b.requires_grad();
  record(out, "conv2d", {x, w, b}, [X, W, s, Co, need_x, need_w, need_b](const Tensor& g) {
    Tensor gx, gw, gb;
    if (need_x) gx = like(g, {s.n, s.c, s.h, s.w});
    if (need_w) gw = like(g, W.shape());
    if (need_b) gb = like(g, {Co});
    if (need_x || need_w || need_b)
      g.backend_for(Op::conv2d_backward)
          .conv2d_backward(need_x ? gx.data_f32() : nullptr, need_w ? gw.data_f32() : nullptr,
                           need_b ? gb.data_f32() : nullptr, g.data_f32(), X.data_f32(), W.data_f32(), s, Co);
    return std::vector<Tensor>{gx, gw, gb};
  });
  return out;
}

namespace {
Pool2dShape pool_shape(const Tensor& x, int64_t k, int64_t stride, int64_t pad, bool ceil, const char* op) {
  require_f32(x, op, "x");
  require(x.dim() == 4, op, "needs [N, C, H, W], got " + x.describe());
  require(k >= 1 && stride >= 1 && pad >= 0 && pad * 2 <= k, op,
          "needs k >= 1, stride >= 1, 0 <= pad <= k/2");
  Pool2dShape s{x.size(0), x.size(1), x.size(2), x.size(3), k, stride, pad, ceil};
  require(s.oh() > 0 && s.ow() > 0, op, "window larger than padded input " + x.describe());
  return s;
}
}  // namespace

Tensor max_pool2d(const Tensor& x, int64_t k, int64_t stride, int64_t pad, bool ceil_mode) {
  const Pool2dShape s = pool_shape(x, k, stride, pad, ceil_mode, "max_pool2d");
  Tensor out = like(x, {s.n, s.c, s.oh(), s.ow()});
  Tensor argmax = Tensor::empty(out.shape(), DType::i32, x.device());
  x.backend_for(Op::maxpool2d_forward).maxpool2d_forward(out.data_f32(), argmax.data_i32(), x.data_f32(), s);
  record(out, "max_pool2d", {x}, [argmax, s](const Tensor& g) {
    Tensor gx = like(g, {s.n, s.c, s.h, s.w});
    g.backend_for(Op::maxpool2d_backward)
        .maxpool2d_backward(gx.data_f32(), g.data_f32(), argmax.data_i32(), s);
    return std::vector<Tensor>{gx};
  });
  return out;
}

Tensor avg_pool2d(const Tensor& x, int64_t k, int64_t stride, int64_t pad, bool ceil_mode) {
  const Pool2dShape s = pool_shape(x, k, stride, pad, ceil_mode, "avg_pool2d");
  Tensor out = like(x, {s.n, s.c, s.oh(), s.ow()});
  x.backend_for(Op::avgpool2d_forward).avgpool2d_forward(out.data_f32(), x.data_f32(), s);
  record(out, "avg_pool2d", {x}, [s](const Tensor& g) {
    Tensor gx = like(g, {s.n, s.c, s.h, s.w});
    g.backend_for(Op::avgpool2d_backward).avgpool2d_backward(gx.data_f32(), g.data_f32(), s);
    return std::vector<Tensor>{gx};
  });
  return out;
}

Tensor concat_channels(const std::vector<Tensor>& parts) {
  require(!parts.empty(), "concat_channels", "needs at least one part");
  const Tensor& first = parts.front();
  int64_t channels = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Tensor& p = parts[i];
    require_f32(p, "concat_channels", "part");
    require_same_device(first, p, "concat_channels");
    require(p.dim() == 4 && p.size(0) == first.size(0) && p.size(2) == first.size(2) &&
                p.size(3) == first.size(3),
            "concat_channels",
            "part " + std::to_string(i) + " is " + p.describe() + ", needs [N, ·, H, W] of part 0 " +
                first.describe());
    channels += p.size(1);
  }
  const int64_t N = first.size(0), H = first.size(2), W = first.size(3);
  Tensor out = like(first, {N, channels, H, W});
  // Part i's plane (n, c) is output plane (n, offset_i + c): one row of H·W each.
  std::vector<Tensor> dst_rows, src_rows;
  std::vector<int64_t> counts;
  int64_t offset = 0;
  for (const Tensor& p : parts) {
    const int64_t C = p.size(1);
    std::vector<int32_t> dst, src;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) {
        dst.push_back(static_cast<int32_t>(n * channels + offset + c));
        src.push_back(static_cast<int32_t>(n * C + c));
      }
    counts.push_back(N * C);
    dst_rows.push_back(Tensor::from_vector_i32({N * C}, dst, first.device()));
    src_rows.push_back(Tensor::from_vector_i32({N * C}, src, first.device()));
    offset += C;
  }
  for (size_t i = 0; i < parts.size(); ++i)
    if (counts[i] > 0)
      out.backend_for(Op::copy_rows)
          .copy_rows(out.data_f32(), dst_rows[i].data_i32(), parts[i].data_f32(), src_rows[i].data_i32(),
                     counts[i], H * W);
  std::vector<Shape> shapes;
  for (const Tensor& p : parts) shapes.push_back(p.shape());
  record(out, "concat_channels", parts, [dst_rows, src_rows, counts, shapes, H, W](const Tensor& g) {
    std::vector<Tensor> grads;
    for (size_t i = 0; i < shapes.size(); ++i) {
      Tensor gi = like(g, shapes[i]);
      if (counts[i] > 0)
        g.backend_for(Op::copy_rows)
            .copy_rows(gi.data_f32(), src_rows[i].data_i32(), g.data_f32(), dst_rows[i].data_i32(), counts[i],
                       H * W);
      grads.push_back(gi);
    }
    return grads;
  });
  return out;
}

// mean over H·W: Σ (canonical chunks) ÷ (H·W); the gradient spreads g ÷ (H·W) over the plane.
Tensor global_avg_pool(const Tensor& x) {
  require_f32(x, "global_avg_pool", "x");
  require(x.dim() == 4, "global_avg_pool", "needs [N, C, H, W], got " + x.describe());
  const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  Tensor sums = like(x, {N, C}), out = like(x, {N, C});
  x.backend_for(Op::reduce_inner).reduce_inner(sums.data_f32(), x.data_f32(), N * C, HW);
  x.backend_for(Op::binary_scalar)
      .binary_scalar(BinaryOp::div, out.data_f32(), sums.data_f32(), static_cast<float>(HW), N * C);
  const Shape shape = x.shape();
  record(out, "global_avg_pool", {x}, [N, C, HW, shape](const Tensor& g) {
    Tensor gs = like(g);
    g.backend_for(Op::binary_scalar)
        .binary_scalar(BinaryOp::div, gs.data_f32(), g.data_f32(), static_cast<float>(HW), N * C);
    return std::vector<Tensor>{expand_mid(gs, 1, N * C, HW, shape)};
  });
  return out;
}

}  // namespace prism
