// The multi-similarity loss (Wang et al. 2019) with its hard-pair mining, as a differentiable op (reference
// wiring of the multi_similarity_forward / _backward kernels) and the multi_similarity row of the loss table.
// Rows against columns with row and column masks and an explicit divisor, like the contrastive loss.
#pragma once
#include "prism/core/tensor.hpp"
#include "prism/dml/loss.hpp"
#include "prism/kernels/params.hpp"

namespace prism::dml {

// loss = (Σ over rows i with row_mask[i] ≠ 0 of loss_i) / divisor, loss_i of kern::ms_row over the columns
// with col_mask ≠ 0 (and j ≠ i when p.skip_diagonal). sim [R, C] f32 (differentiable); labels i32 [R] / [C];
// masks i32 or undefined (all on). divisor ≤ 0 → 0 with no gradient. The mining is a selection and has no
// gradient; at its thresholds (s − ε = max negative, s + ε = min positive) the pair is dropped.
Tensor multi_similarity_loss_from_similarity(const Tensor& sim, const Tensor& row_labels,
                                             const Tensor& col_labels, const Tensor& row_mask,
                                             const Tensor& col_mask, float divisor,
                                             const MultiSimilarityParams& p);

// rows [R, d] against cols [C, d] on cosine similarity: both are L2-normalised here (the distance of
// pytorch-metric-learning's MultiSimilarityLoss; the embedder's rows are unit already, so this only adds
// rounding), s = normalised rows · normalised colsᵀ, gram() and the diagonal skipped when cols is rows.
Tensor multi_similarity_loss(const Tensor& rows, const Tensor& row_labels, const Tensor& cols,
                             const Tensor& col_labels, const Tensor& row_mask, const Tensor& col_mask,
                             float divisor, const MultiSimilarityParams& p = {});

// LOSSES.NAME multi_similarity: α = 2, β = 50, λ = 0.5, ε = 0.1 (the paper's and pml's defaults).
class MultiSimilarityLoss final : public Loss {
 public:
  explicit MultiSimilarityLoss(const MultiSimilarityParams& p = {}) : params_(p) {}
  const char* name() const override { return "multi_similarity"; }
  Tensor pairs(const Tensor& rows, const Tensor& row_labels, const Tensor& cols, const Tensor& col_labels,
               const Tensor& row_mask, const Tensor& col_mask, float divisor) const override;
  const MultiSimilarityParams& params() const { return params_; }

 private:
  MultiSimilarityParams params_;
};

}  // namespace prism::dml
