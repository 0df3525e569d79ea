// The multi-similarity loss op: normalise, similarity by gram / matmul, the forward kernel per row (loss and
// saved statistics), canonical chunked sum over rows, one division; backward = the per-pair gradient kernel
// scaled by dloss / divisor (reference wiring; derivation in docs/prism.md).
#include "prism/dml/multi_similarity.hpp"

#include <string>

#include "loss_checks.hpp"
#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"
#include "prism/kernels/dml.hpp"

namespace prism::dml {

namespace {

void require(bool ok, const std::string& what) {
  detail::require_loss_input(ok, "multi_similarity_loss", what);
}

void require_i32_vector(const Tensor& t, int64_t n, const Tensor& like, const char* name, bool optional) {
  detail::require_i32_vector("multi_similarity_loss", t, n, like, name, optional);
}

}  // namespace

Tensor multi_similarity_loss_from_similarity(const Tensor& sim, const Tensor& row_labels,
                                             const Tensor& col_labels, const Tensor& row_mask,
                                             const Tensor& col_mask, float divisor,
                                             const MultiSimilarityParams& p) {
  require(sim.defined() && sim.dtype() == DType::f32 && sim.dim() == 2,
          "similarities must be f32 [R, C], got " + sim.describe());
  const int64_t R = sim.size(0), C = sim.size(1);
  require_i32_vector(row_labels, R, sim, "row_labels", false);
  require_i32_vector(col_labels, C, sim, "col_labels", false);
  require_i32_vector(row_mask, R, sim, "row_mask", true);
  require_i32_vector(col_mask, C, sim, "col_mask", true);
  require(divisor == divisor, "divisor is NaN");
  require(!p.skip_diagonal || R == C,
          "skip_diagonal needs a square similarity matrix, got " + sim.describe());
  if (!(divisor > 0.0f) || R == 0 || C == 0) return Tensor::zeros({1}, DType::f32, sim.device());

  Tensor row_loss = Tensor::empty({R}, DType::f32, sim.device());
  Tensor stats = Tensor::empty({R, kern::kMsStats}, DType::f32, sim.device());
  sim.backend_for(Op::multi_similarity_forward)
      .multi_similarity_forward(row_loss.data_f32(), stats.data_f32(), sim.data_f32(), row_labels.data_i32(),
                                col_labels.data_i32(), detail::mask_or_null(row_mask),
                                detail::mask_or_null(col_mask), R, C, p);
  Tensor loss = detail::sum_over(row_loss, divisor);

  Tensor S = sim.detach();
  record(loss, "multi_similarity", {sim},
         [S, stats, row_labels, col_labels, row_mask, col_mask, divisor, p, R, C](const Tensor& g) {
           const float scale = g.item() / divisor;  // d(total / divisor) / d total, as torch's DivBackward
           Tensor dsim = Tensor::empty({R, C}, DType::f32, S.device());
           S.backend_for(Op::multi_similarity_backward)
               .multi_similarity_backward(dsim.data_f32(), S.data_f32(), stats.data_f32(),
                                          row_labels.data_i32(), col_labels.data_i32(),
                                          detail::mask_or_null(row_mask), detail::mask_or_null(col_mask), R,
                                          C, p, scale);
           return std::vector<Tensor>{dsim};
         });
  return loss;
}

Tensor multi_similarity_loss(const Tensor& rows, const Tensor& row_labels, const Tensor& cols,
                             const Tensor& col_labels, const Tensor& row_mask, const Tensor& col_mask,
                             float divisor, const MultiSimilarityParams& p) {
  if (!detail::check_rows_cols("multi_similarity_loss", rows, row_labels, cols, col_labels, divisor))
    return Tensor::zeros({1}, DType::f32, rows.device());
  // The batch loss compares a tensor with itself: one normalisation, gram() for the symmetric gradient, and
  // the diagonal (each sample with itself) is no pair.
  const bool self = rows.impl() == cols.impl();
  MultiSimilarityParams q = p;
  q.skip_diagonal = self ? 1 : 0;
  const Tensor unit_rows = l2_normalize(rows);
  Tensor sim = self ? gram(unit_rows) : matmul(unit_rows, l2_normalize(cols), false, true);
  return multi_similarity_loss_from_similarity(sim, row_labels, col_labels, row_mask, col_mask, divisor, q);
}

Tensor MultiSimilarityLoss::pairs(const Tensor& rows, const Tensor& row_labels, const Tensor& cols,
                                  const Tensor& col_labels, const Tensor& row_mask, const Tensor& col_mask,
                                  float divisor) const {
  return multi_similarity_loss(rows, row_labels, cols, col_labels, row_mask, col_mask, divisor, params_);
}

}  // namespace prism::dml
