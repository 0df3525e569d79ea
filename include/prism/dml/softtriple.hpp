// The SoftTriple loss (Qian et al. 2019) as a differentiable op (reference wiring of the softtriple_forward /
// _backward and softtriple_reg_forward / _backward kernels) and the softtriple row of the loss table, whose
// K centers per class are trainable parameters (optimizer "loss.centers", checkpoint "loss/centers").
#pragma once
#include <memory>

#include "prism/core/tensor.hpp"
#include "prism/dml/loss.hpp"
#include "prism/kernels/params.hpp"
#include "prism/nn/module.hpp"

namespace prism::dml {

struct SoftTripleOptions {
  int64_t centers_per_class = 10;  // K
  SoftTripleParams params;         // λ = 20, 1/γ = 10, δ = 0.01
  float tau = 0.2f;                // weight of the centre regulariser
};

// Cross-entropy part: (Σ over rows i with row_mask[i] ≠ 0 of loss_i) / divisor, loss_i of kern::softtriple_row.
// sim [R, classes·K] f32 (differentiable); labels i32 [R] in [0, classes); divisor ≤ 0 → 0, no gradient.
Tensor softtriple_loss_from_similarity(const Tensor& sim, const Tensor& labels, const Tensor& row_mask,
                                       float divisor, int64_t classes, int64_t K, const SoftTripleParams& p);

// The centre regulariser of the original SoftTriple code: Σ over classes and pairs t < u of its unit centers of
// sqrt(2 + 1e-5 − 2 w_t·w_u), divided by classes·K·(K − 1) (pml's divisor too). unit_centers
// [classes·K, d] (differentiable). K < 2 → 0.
Tensor softtriple_center_regulariser(const Tensor& unit_centers, int64_t classes, int64_t K);

// The trainable centers [classes·K, d], row c·K + t is center t of class c.
class SoftTripleCenters final : public nn::Module {
 public:
  SoftTripleCenters(int64_t classes, int64_t K, int64_t dim, uint64_t seed);
  Tensor forward(const Tensor& x) override;  // not a layer: throws
  std::string repr() const override;
  Tensor centers;
  const int64_t classes, K, dim;
};

// LOSSES.NAME softtriple. pairs() is the batch loss only: rows and columns must be the same tensor (rows
// with row_mask = 0 are left out, the sum divided by `divisor`), plus τ times the centre regulariser. Rows and
// centers are L2-normalised here (cosine similarity, as pml's default distance). It takes no memory columns
// (a proxy loss compares samples with centers, not with other samples): memory_loss() gives 0 for it.
class SoftTripleLoss final : public Loss {
 public:
  SoftTripleLoss(int32_t num_classes, int64_t dim, uint64_t seed, const SoftTripleOptions& options = {});
  const char* name() const override { return "softtriple"; }
  Tensor pairs(const Tensor& rows, const Tensor& row_labels, const Tensor& cols, const Tensor& col_labels,
               const Tensor& row_mask, const Tensor& col_mask, float divisor) const override;
  bool takes_memory_columns() const override { return false; }
  nn::Module* parameter_module() override { return centers_.get(); }
  const SoftTripleCenters& centers() const { return *centers_; }
  const SoftTripleOptions& options() const { return options_; }

 private:
  SoftTripleOptions options_;
  std::shared_ptr<SoftTripleCenters> centers_;
};

}  // namespace prism::dml
