// The SoftTriple loss op: normalise rows and centers, similarity by matmul, the forward kernel per row (loss
// and saved log-sum-exp), canonical chunked sum over rows, one division; plus τ · the centre regulariser.
// Backward = the per-element gradient kernels (reference wiring; derivation in docs/prism.md).
#include "prism/dml/softtriple.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "loss_checks.hpp"
#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"

namespace prism::dml {

namespace {

void require(bool ok, const std::string& what) {
  detail::require_loss_input(ok, "softtriple_loss", what);
}

}  // namespace

Tensor softtriple_loss_from_similarity(const Tensor& sim, const Tensor& labels, const Tensor& row_mask,
                                       float divisor, int64_t classes, int64_t K, const SoftTripleParams& p) {
  require(classes > 0 && K > 0, "needs classes > 0 and K > 0");
  require(sim.defined() && sim.dtype() == DType::f32 && sim.dim() == 2 && sim.size(1) == classes * K,
          "similarities must be f32 [R, " + std::to_string(classes * K) + "], got " + sim.describe());
  const int64_t R = sim.size(0);
  require(labels.defined() && labels.dtype() == DType::i32 && labels.dim() == 1 && labels.size(0) == R &&
              labels.device() == sim.device(),
          "labels must be i32 [" + std::to_string(R) + "] on the similarities' device");
  require(!row_mask.defined() || (row_mask.dtype() == DType::i32 && row_mask.dim() == 1 &&
                                  row_mask.size(0) == R && row_mask.device() == sim.device()),
          "row_mask must be i32 [" + std::to_string(R) + "] on the similarities' device");
  for (int32_t y : labels.to_vector_i32())  // the kernels index the label's centers
    require(y >= 0 && y < classes,
            "label " + std::to_string(y) + " outside [0, " + std::to_string(classes) + ")");
  require(divisor == divisor, "divisor is NaN");
  if (!(divisor > 0.0f) || R == 0) return Tensor::zeros({1}, DType::f32, sim.device());

  Tensor row_loss = Tensor::empty({R}, DType::f32, sim.device());
  Tensor row_lse = Tensor::empty({R}, DType::f32, sim.device());
  sim.backend_for(Op::softtriple_forward)
      .softtriple_forward(row_loss.data_f32(), row_lse.data_f32(), sim.data_f32(), labels.data_i32(),
                          detail::mask_or_null(row_mask), R, classes, K, p);
  Tensor loss = detail::sum_over(row_loss, divisor);
  Tensor S = sim.detach();
  record(loss, "softtriple", {sim},
         [S, row_lse, labels, row_mask, divisor, classes, K, p, R](const Tensor& g) {
           const float scale = g.item() / divisor;
           Tensor dsim = Tensor::empty({R, classes * K}, DType::f32, S.device());
           S.backend_for(Op::softtriple_backward)
               .softtriple_backward(dsim.data_f32(), S.data_f32(), row_lse.data_f32(), labels.data_i32(),
                                    detail::mask_or_null(row_mask), R, classes, K, p, scale);
           return std::vector<Tensor>{dsim};
         });
  return loss;
}

Tensor softtriple_center_regulariser(const Tensor& unit_centers, int64_t classes, int64_t K) {
  require(unit_centers.defined() && unit_centers.dtype() == DType::f32 && unit_centers.dim() == 2 &&
              unit_centers.size(0) == classes * K,
          "centers must be f32 [" + std::to_string(classes * K) + ", d], got " + unit_centers.describe());
  if (K < 2 || classes <= 0) return Tensor::zeros({1}, DType::f32, unit_centers.device());
  const int64_t G = classes * K, D = unit_centers.size(1);
  Tensor reg = Tensor::empty({G}, DType::f32, unit_centers.device());
  Tensor dfac = Tensor::empty({G, K}, DType::f32, unit_centers.device());
  unit_centers.backend_for(Op::softtriple_reg_forward)
      .softtriple_reg_forward(reg.data_f32(), dfac.data_f32(), unit_centers.data_f32(), classes, K, D);
  // The original code's divisor (and pml's DivisorReducer's): the C·K(K−1)/2 pairs' sum over 2 × their count.
  const float divisor = static_cast<float>(classes * K * (K - 1));
  Tensor out = detail::sum_over(reg, divisor);
  Tensor W = unit_centers.detach();
  record(out, "softtriple_reg", {unit_centers}, [W, dfac, divisor, classes, K, D](const Tensor& g) {
    Tensor dw = Tensor::empty({classes * K, D}, DType::f32, W.device());
    W.backend_for(Op::softtriple_reg_backward)
        .softtriple_reg_backward(dw.data_f32(), dfac.data_f32(), W.data_f32(), classes, K, D,
                                 g.item() / divisor);
    return std::vector<Tensor>{dw};
  });
  return out;
}

// ---- the centers ------------------------------------------------------------------------------------------

// U(−b, b) with b = 1/sqrt(classes·K), the bound of torch's kaiming_uniform_(a = √5) that pml gives its
// [d, classes·K] matrix; only the directions matter (the loss normalises the centers). Drawn on the host from
// Rng(seed, RngStream::loss), element i (row-major) taking draw i, so it is the same on every device.
SoftTripleCenters::SoftTripleCenters(int64_t classes_, int64_t K_, int64_t dim_, uint64_t seed)
    : classes(classes_), K(K_), dim(dim_) {
  if (classes <= 0 || K <= 0 || dim <= 0)
    throw Error("softtriple: needs classes, centers per class and the embedding size > 0, got " +
                std::to_string(classes) + ", " + std::to_string(K) + ", " + std::to_string(dim));
  const float bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(classes * K)));
  Rng rng(seed, RngStream::loss);
  std::vector<float> values(static_cast<size_t>(classes * K * dim));
  for (float& v : values) v = (2.0f * rng.uniform() - 1.0f) * bound;
  centers =
      register_parameter("centers", Tensor::from_vector({classes * K, dim}, values), nn::Init::he_uniform);
}

Tensor SoftTripleCenters::forward(const Tensor&) {
  throw Error("SoftTripleCenters holds the loss's parameters and has no forward pass");
}

std::string SoftTripleCenters::repr() const {
  return "SoftTripleCenters(" + std::to_string(classes) + " classes × " + std::to_string(K) +
         " centers, d=" + std::to_string(dim) + ")";
}

// ---- the loss -----------------------------------------------------------------------------------------------

SoftTripleLoss::SoftTripleLoss(int32_t num_classes, int64_t dim, uint64_t seed,
                               const SoftTripleOptions& options)
    : options_(options),
      centers_(std::make_shared<SoftTripleCenters>(num_classes, options.centers_per_class, dim, seed)) {}

Tensor SoftTripleLoss::pairs(const Tensor& rows, const Tensor& row_labels, const Tensor& cols, const Tensor&,
                             const Tensor& row_mask, const Tensor&, float divisor) const {
  require(rows.defined() && rows.dtype() == DType::f32 && rows.dim() == 2,
          "rows must be f32 [R, d], got " + rows.describe());
  require(cols.defined() && rows.impl() == cols.impl(),
          "takes no memory columns: it is the batch loss only (rows and columns the same tensor)");
  require(rows.size(1) == centers_->dim, "rows " + rows.describe() + " against centers of width " +
                                             std::to_string(centers_->dim) + " (MODEL.HEAD.DIM)");
  require(rows.device() == centers_->centers.device(), "rows on " + std::string(device_name(rows.device())) +
                                                           ", centers on " +
                                                           device_name(centers_->centers.device()));
  if (!(divisor > 0.0f) || rows.size(0) == 0) {
    require(row_labels.defined() && row_labels.dim() == 1 && row_labels.size(0) == rows.size(0),
            "row_labels must be i32 [" + std::to_string(rows.size(0)) + "]");
    return Tensor::zeros({1}, DType::f32, rows.device());
  }
  const int64_t C = centers_->classes, K = centers_->K;
  const Tensor unit_centers = l2_normalize(centers_->centers);
  const Tensor sim = matmul(l2_normalize(rows), unit_centers, false, true);
  Tensor loss = softtriple_loss_from_similarity(sim, row_labels, row_mask, divisor, C, K, options_.params);
  if (options_.tau > 0.0f && K > 1)
    loss = add(loss, scale(softtriple_center_regulariser(unit_centers, C, K), options_.tau));
  return loss;
}

}  // namespace prism::dml
