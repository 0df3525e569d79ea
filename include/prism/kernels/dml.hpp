// Metric-learning kernels, reference definition per row / element (host and device): the contrastive loss
// with row and column masks, class means of memory rows, row copies into the memory ring.
#pragma once
#include "prism/kernels/reduce.hpp"

namespace prism::kern {

// Pair (i, j) is an active positive (+1 → −s in the gradient), active negative, or inactive (0).
// Positive: same label and s < 1 − pos_eps (near-duplicates, e.g. a sample with itself, give no loss).
// Negative: different label and s > margin. At the kinks (s = 1 − pos_eps, s = margin) the pair is inactive.
PRISM_HD int contrastive_pair_kind(float s, int32_t yi, int32_t yj, float margin, float pos_eps) {
  if (yi == yj) return s < 1.0f - pos_eps ? -1 : 0;
  return s > margin ? 1 : 0;
}

PRISM_HD float contrastive_row(const float* sim, const int32_t* row_labels, const int32_t* col_labels,
                               const int32_t* row_mask, const int32_t* col_mask, int64_t cols, float margin,
                               float pos_eps, int64_t i) {
  if (row_mask && !row_mask[i]) return 0.0f;
  const float* s = sim + i * cols;
  const int32_t yi = row_labels[i];
  return chunked_reduce<float>(cols, [&](int64_t j, float acc) {
    if (col_mask && !col_mask[j]) return acc;
    const int kind = contrastive_pair_kind(s[j], yi, col_labels[j], margin, pos_eps);
    return kind < 0 ? acc + (1.0f - s[j]) : kind > 0 ? acc + s[j] : acc;
  });
}

PRISM_HD float contrastive_grad_one(const float* sim, const int32_t* row_labels, const int32_t* col_labels,
                                    const int32_t* row_mask, const int32_t* col_mask, int64_t cols,
                                    float margin, float pos_eps, float scale, int64_t idx) {
  const int64_t i = idx / cols, j = idx % cols;
  if ((row_mask && !row_mask[i]) || (col_mask && !col_mask[j])) return 0.0f;
  const int kind = contrastive_pair_kind(sim[idx], row_labels[i], col_labels[j], margin, pos_eps);
  return kind < 0 ? -scale : kind > 0 ? scale : 0.0f;
}

// out[g, d] = (Σ over t in [offsets[g], offsets[g+1]) of in[order[t], d], canonical chunks) / count; 0 if
// empty.
template <class T>
PRISM_HD T segment_mean_one(const T* in, const int32_t* order, const int32_t* offsets, int64_t dim, int64_t g,
                            int64_t d) {
  const int64_t b = offsets[g], e = offsets[g + 1];
  if (e <= b) return T(0);
  const T total =
      chunked_reduce<T>(e - b, [&](int64_t t, T acc) { return acc + in[order[b + t] * dim + d]; });
  return total / T(e - b);
}

}  // namespace prism::kern
