// Batch norm (train/eval), row-wise L2 normalisation, row softmax. Derivations in docs/autograd.md.
#include "ops_common.hpp"
#include "prism/core/ops.hpp"

namespace prism {

using detail::like;
using detail::require;
using detail::require_f32;

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, bool training, float momentum, float eps) {
  require_f32(x, "batch_norm", "x");
  require(x.dim() == 2 || x.dim() == 4, "batch_norm", "needs [N, C] or [N, C, H, W], got " + x.describe());
  const int64_t N = x.size(0), C = x.size(1), HW = x.numel() / (N * C);
  for (const Tensor* t :
       {&gamma, &beta, static_cast<const Tensor*>(&running_mean), static_cast<const Tensor*>(&running_var)})
    require(t->defined() && t->dim() == 1 && t->size(0) == C && t->device() == x.device(), "batch_norm",
            "gamma, beta and running statistics must be [" + std::to_string(C) + "] on " +
                device_name(x.device()));
  Tensor y = like(x);
  if (!training) {
    x.backend_for(Op::batchnorm_forward)
        .batchnorm_forward(y.data_f32(), x.data_f32(), running_mean.data_f32(), running_var.data_f32(),
                           gamma.data_f32(), beta.data_f32(), eps, N, C, HW);
    require(!needs_grad({&x, &gamma, &beta}), "batch_norm",
            "backward through eval-mode batch norm is not supported (train the model in training mode)");
    return y;
  }
  require(N * HW > 1, "batch_norm", "training needs more than one value per channel, got " + x.describe());
  Tensor mean = like(x, {C}), var = like(x, {C});
  x.backend_for(Op::batchnorm_stats).batchnorm_stats(mean.data_f32(), var.data_f32(), x.data_f32(), N, C, HW);
  x.backend_for(Op::batchnorm_forward)
      .batchnorm_forward(y.data_f32(), x.data_f32(), mean.data_f32(), var.data_f32(), gamma.data_f32(),
                         beta.data_f32(), eps, N, C, HW);
  x.backend_for(Op::batchnorm_update_running)
      .batchnorm_update_running(running_mean.data_f32(), running_var.data_f32(), mean.data_f32(),
                                var.data_f32(), momentum, N * HW, C);
  Tensor X = x.detach(), G = gamma.detach();
  record(y, "batch_norm", {x, gamma, beta}, [X, G, mean, var, eps, N, C, HW](const Tensor& g) {
    Tensor dx = like(g), dgamma = like(g, {C}), dbeta = like(g, {C});
    g.backend_for(Op::batchnorm_backward)
        .batchnorm_backward(dx.data_f32(), dgamma.data_f32(), dbeta.data_f32(), g.data_f32(), X.data_f32(),
                            mean.data_f32(), var.data_f32(), G.data_f32(), eps, N, C, HW);
    return std::vector<Tensor>{dx, dgamma, dbeta};
  });
  return y;
}

Tensor l2_normalize(const Tensor& x, float eps) {
  require_f32(x, "l2_normalize", "x");
  require(x.dim() == 2, "l2_normalize", "needs [N, D], got " + x.describe());
  const int64_t R = x.size(0), D = x.size(1);
  Tensor y = like(x), norm = like(x, {R});
  x.backend_for(Op::l2_normalize_forward)
      .l2_normalize_forward(y.data_f32(), norm.data_f32(), x.data_f32(), R, D, eps);
  Tensor Y = y.detach();
  record(y, "l2_normalize", {x}, [Y, norm, R, D, eps](const Tensor& g) {
    Tensor dx = like(g);
    g.backend_for(Op::l2_normalize_backward)
        .l2_normalize_backward(dx.data_f32(), g.data_f32(), Y.data_f32(), norm.data_f32(), R, D, eps);
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor softmax_rows(const Tensor& x) {
  require_f32(x, "softmax_rows", "x");
  require(x.dim() == 2 && x.size(1) > 0, "softmax_rows", "needs [R, C] with C > 0, got " + x.describe());
  Tensor y = like(x);
  x.backend_for(Op::softmax_rows).softmax_rows(y.data_f32(), x.data_f32(), x.size(0), x.size(1));
  return y;
}

}  // namespace prism
