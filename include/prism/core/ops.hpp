// Differentiable ops on Tensors: each dispatches its forward kernel to the inputs' backend (through
// Tensor::backend_for, which refuses a kernel the backend does not support) and records a backward rule built
// from backend kernels (reference wiring; the kernels decide exact vs fast). Every op here records its own
// rule (mean and transpose included) except linear, which is matmul + add, and softmax_rows and the row
// gathers, which are not differentiable. The nets are compositions of these ops; the contrastive loss is not:
// it is an op of its own with a fused backward kernel (dml/contrastive.hpp). DESIGN §2.4; derivations:
// docs/autograd.md. Subgradients at kinks: ReLU'(0) = 0; max-pool ties go to the first maximum in window
// order; L2-normalise below eps treats the norm as the constant eps.
#pragma once
#include <cstdint>
#include <vector>

#include "prism/core/tensor.hpp"

namespace prism {

// ---- linear algebra ---------------------------------------------------------------------------------------
// op(a) · op(b) for 2-D tensors; trans flags transpose the stored matrix.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);
// x[N, in] · wᵀ (w is [out, in], torch layout) + b[out] (b may be undefined).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);
// x · xᵀ for x[N, D] (the similarity matrix of a batch). d x = (G + Gᵀ) x.
Tensor gram(const Tensor& x);

// ---- elementwise (same shape, or b of shape [a.size(1)] broadcast along axis 1: bias rows / channels) -----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& a, float s);
Tensor add_scalar(const Tensor& a, float s);
Tensor relu(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor square(const Tensor& x);

// ---- reductions -------------------------------------------------------------------------------------------
Tensor sum(const Tensor& x);       // → [1]
Tensor mean(const Tensor& x);      // → [1], sum ÷ numel
Tensor sum_rows(const Tensor& x);  // [R, C] → [R], Σ over C

// ---- convolution, pooling ---------------------------------------------------------------------------------
// x[N, C, H, W], w[Co, C, KH, KW], b[Co] (may be undefined) → [N, Co, OH, OW].
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t pad);
// ceil_mode as torch's (Pool2dShape::ceil): the output size rounds up; avg_pool2d counts padding (torch's
// count_include_pad = True) except past the bottom/right padding of a ceil-mode window.
Tensor max_pool2d(const Tensor& x, int64_t k, int64_t stride, int64_t pad = 0, bool ceil_mode = false);
Tensor avg_pool2d(const Tensor& x, int64_t k, int64_t stride, int64_t pad = 0, bool ceil_mode = false);
Tensor global_avg_pool(const Tensor& x);  // [N, C, H, W] → [N, C]
// [N, C_i, H, W] parts (one device, ≥ 1) → [N, Σ C_i, H, W] in the order given (torch.cat(parts, 1)); a copy
// (rows of H·W through Backend::copy_rows), so bit-exact in every mode; the gradient is sliced back.
Tensor concat_channels(const std::vector<Tensor>& parts);

// ---- normalisation ----------------------------------------------------------------------------------------
// Batch norm over axis 1 of [N, C] or [N, C, H, W]. Training: batch statistics, running stats updated in
// place (not recorded); eval: running statistics (then a per-channel affine map).
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, bool training, float momentum, float eps);
// Rows of x[N, D] scaled to unit L2 norm (torch F.normalize, eps = 1e-12).
Tensor l2_normalize(const Tensor& x, float eps = 1e-12f);

// ---- softmax, transpose -----------------------------------------------------------------------------------
// Row softmax with the row maximum subtracted. Not differentiable: it serves the clean probability (DESIGN
// §4.3), which is never trained through.
Tensor softmax_rows(const Tensor& x);
Tensor transpose(const Tensor& x);  // 2-D; differentiable (the gradient is transposed back)

// ---- row gathers (not differentiable; src/core/ops_rows.cpp) ---------------------------------------------
// dst[dst_rows[j], :] = src[src_rows[j], :] for every j, written in place: dst and src are f32 [·, D] on one
// backend (either may be a row view), the indices host vectors of equal length, checked against the row
// counts.
void copy_rows(Tensor& dst, const std::vector<int32_t>& dst_rows, const Tensor& src,
               const std::vector<int32_t>& src_rows);
// out[g, :] = mean of in[order[offsets[g]]], …, in[order[offsets[g + 1] − 1]] for in f32 [R, D]: the rows
// summed in that order in the canonical chunks, then divided by the count; 0 for an empty group. offsets has
// groups + 1 non-decreasing entries from 0 to order.size(). Returns f32 [groups, D] on in's device.
Tensor segment_mean_rows(const Tensor& in, const std::vector<int32_t>& order,
                         const std::vector<int32_t>& offsets);

}  // namespace prism
