// The contrastive loss of XBM / PRISM as a differentiable op (reference wiring of the contrastive_forward /
// contrastive_backward kernels): rows (anchors) against columns (references), with row and column masks and
// an explicit divisor. The batch loss and the memory loss of DESIGN §4.1 are two calls of it. Derivation:
// docs/prism.md.
#pragma once
#include <cstdint>
#include <vector>

#include "prism/core/tensor.hpp"
#include "prism/dml/loss.hpp"

namespace prism::dml {

struct ContrastiveOptions {
  float margin = 0.5f;    // a negative pair counts when s > margin
  float pos_eps = 1e-5f;  // a positive pair counts when s < 1 − pos_eps
};

// loss = (Σ over rows i with row_mask[i] ≠ 0 and columns j with col_mask[j] ≠ 0 of the pair term) / divisor,
// where the pair term is 1 − s_ij for an active positive and s_ij for an active negative. sim [R, C] f32
// (differentiable); labels i32 [R] and [C]; masks i32 [R] / [C] or undefined (all on), all on sim's device.
// divisor ≤ 0 → 0 with no gradient (nothing kept). Subgradient at the kinks (s = margin, s = 1 − pos_eps):
// the pair is inactive, 0.
Tensor contrastive_loss_from_similarity(const Tensor& sim, const Tensor& row_labels, const Tensor& col_labels,
                                        const Tensor& row_mask, const Tensor& col_mask, float divisor,
                                        const ContrastiveOptions& opt = {});

// rows [R, d] against cols [C, d] (s = rows · colsᵀ; gram(rows) when cols is the same tensor). Gradients
// reach rows and, when it requires grad, cols.
Tensor contrastive_loss(const Tensor& rows, const Tensor& row_labels, const Tensor& cols,
                        const Tensor& col_labels, const Tensor& row_mask, const Tensor& col_mask,
                        float divisor, const ContrastiveOptions& opt = {});

// The batch loss: the kept samples (keep i32 [n], undefined = all) against each other, divided by the number
// kept. 0 (no gradient) when nothing is kept.
Tensor batch_contrastive_loss(const Tensor& emb, const Tensor& labels, const Tensor& keep,
                              const ContrastiveOptions& opt = {});

// The memory loss: the whole batch against the memory rows (detached here), rows of removed samples masked
// out, divided by the whole batch size n. 0 (no gradient) when the memory is empty.
Tensor memory_contrastive_loss(const Tensor& emb, const Tensor& labels, const Tensor& keep,
                               const Tensor& memory, const Tensor& memory_labels,
                               const ContrastiveOptions& opt = {});

// The contrastive row of the loss table (LOSSES.NAME contrastive): contrastive_loss through the Loss
// interface.
class ContrastiveLoss final : public Loss {
 public:
  explicit ContrastiveLoss(const ContrastiveOptions& options = {}) : options_(options) {}
  const char* name() const override { return "contrastive"; }
  Tensor pairs(const Tensor& rows, const Tensor& row_labels, const Tensor& cols, const Tensor& col_labels,
               const Tensor& row_mask, const Tensor& col_mask, float divisor) const override;
  const ContrastiveOptions& options() const { return options_; }

 private:
  ContrastiveOptions options_;
};

// Host → device helpers for the i32 inputs above.
Tensor label_tensor(const std::vector<int32_t>& labels, DeviceType device);
Tensor mask_tensor(const std::vector<uint8_t>& keep, DeviceType device);  // 0 / 1 as i32

}  // namespace prism::dml
