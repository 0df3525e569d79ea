// The contrastive loss op: forward = per-row kernel, canonical chunked sum over rows, one division; backward
// = the per-pair gradient kernel scaled by dloss / divisor (reference wiring; the kernels decide exact vs
// fast).
#include "prism/dml/contrastive.hpp"

#include <string>

#include "loss_checks.hpp"
#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"

namespace prism::dml {

namespace {

void require(bool ok, const std::string& what) {
  detail::require_loss_input(ok, "contrastive_loss", what);
}

void require_i32_vector(const Tensor& t, int64_t n, const Tensor& like, const char* name, bool optional) {
  detail::require_i32_vector("contrastive_loss", t, n, like, name, optional);
}

Tensor zero_loss(DeviceType device) {
  return Tensor::zeros({1}, DType::f32, device);
}

}  // namespace

Tensor contrastive_loss_from_similarity(const Tensor& sim, const Tensor& row_labels, const Tensor& col_labels,
                                        const Tensor& row_mask, const Tensor& col_mask, float divisor,
                                        const ContrastiveOptions& opt) {
  require(sim.defined() && sim.dtype() == DType::f32 && sim.dim() == 2,
          "similarities must be f32 [R, C], got " + sim.describe());
  const int64_t R = sim.size(0), C = sim.size(1);
  require_i32_vector(row_labels, R, sim, "row_labels", false);
  require_i32_vector(col_labels, C, sim, "col_labels", false);
  require_i32_vector(row_mask, R, sim, "row_mask", true);
  require_i32_vector(col_mask, C, sim, "col_mask", true);
  require(divisor == divisor, "divisor is NaN");
  if (!(divisor > 0.0f) || R == 0 || C == 0) return zero_loss(sim.device());

  // Each kernel through backend_for, which refuses one the backend does not support (naming op and device).
  Tensor row_loss = Tensor::empty({R}, DType::f32, sim.device());
  sim.backend_for(Op::contrastive_forward)
      .contrastive_forward(row_loss.data_f32(), sim.data_f32(), row_labels.data_i32(), col_labels.data_i32(),
                           detail::mask_or_null(row_mask), detail::mask_or_null(col_mask), R, C, opt.margin,
                           opt.pos_eps);
  Tensor loss = detail::sum_over(row_loss, divisor);

  Tensor S = sim.detach();
  record(loss, "contrastive", {sim},
         [S, row_labels, col_labels, row_mask, col_mask, divisor, opt, R, C](const Tensor& g) {
           // d(total / divisor) / d total = g / divisor, as torch's DivBackward computes it; ± per active
           // pair.
           const float scale = g.item() / divisor;
           Tensor dsim = Tensor::empty({R, C}, DType::f32, S.device());
           S.backend_for(Op::contrastive_backward)
               .contrastive_backward(dsim.data_f32(), S.data_f32(), row_labels.data_i32(),
                                     col_labels.data_i32(), detail::mask_or_null(row_mask),
                                     detail::mask_or_null(col_mask), R, C, opt.margin, opt.pos_eps, scale);
           return std::vector<Tensor>{dsim};
         });
  return loss;
}

Tensor contrastive_loss(const Tensor& rows, const Tensor& row_labels, const Tensor& cols,
                        const Tensor& col_labels, const Tensor& row_mask, const Tensor& col_mask,
                        float divisor, const ContrastiveOptions& opt) {
  if (!detail::check_rows_cols("contrastive_loss", rows, row_labels, cols, col_labels, divisor))
    return Tensor::zeros({1}, DType::f32, rows.device());
  // The batch loss compares a tensor with itself: gram() gives the symmetric gradient (G + Gᵀ)·x in one
  // product.
  const bool self = rows.impl() == cols.impl();
  Tensor sim = self ? gram(rows) : matmul(rows, cols, false, true);
  return contrastive_loss_from_similarity(sim, row_labels, col_labels, row_mask, col_mask, divisor, opt);
}

// The two calls of the training step, through the loss table's contrastive row (one path: the trainer's).
Tensor batch_contrastive_loss(const Tensor& emb, const Tensor& labels, const Tensor& keep,
                              const ContrastiveOptions& opt) {
  require(emb.defined() && emb.dim() == 2, "batch loss needs embeddings [n, d], got " + emb.describe());
  const int64_t n = emb.size(0);
  int64_t kept = n;
  if (keep.defined()) {
    require_i32_vector(keep, n, emb, "keep", false);
    kept = 0;
    for (int32_t k : keep.to_vector_i32()) kept += k != 0;
  }
  return batch_loss(ContrastiveLoss(opt), emb, labels, keep, kept);
}

Tensor memory_contrastive_loss(const Tensor& emb, const Tensor& labels, const Tensor& keep,
                               const Tensor& memory, const Tensor& memory_labels,
                               const ContrastiveOptions& opt) {
  return memory_loss(ContrastiveLoss(opt), emb, labels, keep, memory, memory_labels);
}

Tensor label_tensor(const std::vector<int32_t>& labels, DeviceType device) {
  return Tensor::from_vector_i32({static_cast<int64_t>(labels.size())}, labels, device);
}

Tensor mask_tensor(const std::vector<uint8_t>& keep, DeviceType device) {
  std::vector<int32_t> v(keep.begin(), keep.end());
  for (auto& x : v) x = x != 0;
  return Tensor::from_vector_i32({static_cast<int64_t>(v.size())}, v, device);
}

Tensor ContrastiveLoss::pairs(const Tensor& rows, const Tensor& row_labels, const Tensor& cols,
                              const Tensor& col_labels, const Tensor& row_mask, const Tensor& col_mask,
                              float divisor) const {
  return contrastive_loss(rows, row_labels, cols, col_labels, row_mask, col_mask, divisor, options_);
}

}  // namespace prism::dml
