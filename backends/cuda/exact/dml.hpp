// Exact-mode metric-learning kernels of the CUDA backend: the contrastive loss rows (one thread per row,
// chunked over the columns), its gradient (one thread per pair), class means of memory rows (one thread per
// (class, dim), chunked over the class's rows) and row copies — each calling the reference body of
// kernels/dml.hpp. Host and device.
#pragma once
#include "cuda/exact/launch.hpp"
#include "prism/kernels/dml.hpp"

namespace prism::cuda::exact {

struct ContrastiveRow {
  float* row_loss;
  const float* sim;
  const int32_t* row_labels;
  const int32_t* col_labels;
  const int32_t* row_mask;
  const int32_t* col_mask;
  int64_t cols;
  float margin, pos_eps;
  PRISM_HD void operator()(int64_t i) const {
    row_loss[i] =
        kern::contrastive_row(sim, row_labels, col_labels, row_mask, col_mask, cols, margin, pos_eps, i);
  }
};

struct ContrastiveGrad {
  float* dsim;
  const float* sim;
  const int32_t* row_labels;
  const int32_t* col_labels;
  const int32_t* row_mask;
  const int32_t* col_mask;
  int64_t cols;
  float margin, pos_eps, scale;
  PRISM_HD void operator()(int64_t idx) const {
    dsim[idx] = kern::contrastive_grad_one(sim, row_labels, col_labels, row_mask, col_mask, cols, margin,
                                           pos_eps, scale, idx);
  }
};

struct SegmentMean {
  float* out;
  const float* in;
  const int32_t* order;
  const int32_t* offsets;
  int64_t dim;
  PRISM_HD void operator()(int64_t idx) const {
    out[idx] = kern::segment_mean_one<float>(in, order, offsets, dim, idx / dim, idx % dim);
  }
};

struct CopyRows {
  float* dst;
  const int32_t* dst_rows;
  const float* src;
  const int32_t* src_rows;
  int64_t dim;
  PRISM_HD void operator()(int64_t idx) const {
    const int64_t j = idx / dim, d = idx % dim;
    dst[int64_t(dst_rows[j]) * dim + d] = src[int64_t(src_rows[j]) * dim + d];
  }
};

template <class L>
void contrastive_forward(L& launch, float* row_loss, const float* sim, const int32_t* row_labels,
                         const int32_t* col_labels, const int32_t* row_mask, const int32_t* col_mask,
                         int64_t rows, int64_t cols, float margin, float pos_eps) {
  launch.each(
      rows, ContrastiveRow{row_loss, sim, row_labels, col_labels, row_mask, col_mask, cols, margin, pos_eps},
      "contrastive_forward");
}

template <class L>
void contrastive_backward(L& launch, float* dsim, const float* sim, const int32_t* row_labels,
                          const int32_t* col_labels, const int32_t* row_mask, const int32_t* col_mask,
                          int64_t rows, int64_t cols, float margin, float pos_eps, float scale) {
  launch.each(
      rows * cols,
      ContrastiveGrad{dsim, sim, row_labels, col_labels, row_mask, col_mask, cols, margin, pos_eps, scale},
      "contrastive_backward");
}

template <class L>
void segment_mean_rows(L& launch, float* out, const float* in, const int32_t* order, const int32_t* offsets,
                       int64_t groups, int64_t dim) {
  if (dim <= 0) return;
  launch.each(groups * dim, SegmentMean{out, in, order, offsets, dim}, "segment_mean_rows");
}

template <class L>
void copy_rows(L& launch, float* dst, const int32_t* dst_rows, const float* src, const int32_t* src_rows,
               int64_t count, int64_t dim) {
  if (dim <= 0) return;
  launch.each(count * dim, CopyRows{dst, dst_rows, src, src_rows, dim}, "copy_rows");
}

}  // namespace prism::cuda::exact
