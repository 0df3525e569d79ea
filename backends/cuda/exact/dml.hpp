// Exact-mode metric-learning kernels of the CUDA backend: the contrastive, multi-similarity and SoftTriple
// loss rows (one thread per row, chunked over the columns), their gradients (one thread per pair), class means of memory rows (one thread per
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

struct MultiSimilarityRow {
  float* row_loss;
  float* row_stats;
  const float* sim;
  const int32_t* row_labels;
  const int32_t* col_labels;
  const int32_t* row_mask;
  const int32_t* col_mask;
  int64_t cols;
  MultiSimilarityParams p;
  PRISM_HD void operator()(int64_t i) const {
    kern::ms_row<float>(row_loss, row_stats, sim, row_labels, col_labels, row_mask, col_mask, cols, p, i);
  }
};

struct MultiSimilarityGrad {
  float* dsim;
  const float* sim;
  const float* row_stats;
  const int32_t* row_labels;
  const int32_t* col_labels;
  const int32_t* row_mask;
  const int32_t* col_mask;
  int64_t cols;
  MultiSimilarityParams p;
  float scale;
  PRISM_HD void operator()(int64_t idx) const {
    dsim[idx] = kern::ms_grad_one<float>(sim, row_stats, row_labels, col_labels, row_mask, col_mask, cols, p,
                                         scale, idx);
  }
};

struct SoftTripleRow {
  float* row_loss;
  float* row_lse;
  const float* sim;
  const int32_t* labels;
  const int32_t* row_mask;
  int64_t classes, K;
  SoftTripleParams p;
  PRISM_HD void operator()(int64_t i) const {
    kern::softtriple_row<float>(row_loss, row_lse, sim, labels, row_mask, classes, K, p, i);
  }
};

struct SoftTripleGrad {
  float* dsim;
  const float* sim;
  const float* row_lse;
  const int32_t* labels;
  const int32_t* row_mask;
  int64_t classes, K;
  SoftTripleParams p;
  float scale;
  PRISM_HD void operator()(int64_t idx) const {
    dsim[idx] = kern::softtriple_grad_one<float>(sim, row_lse, labels, row_mask, classes, K, p, scale, idx);
  }
};

struct SoftTripleRegRow {
  float* reg;
  float* dfac;
  const float* centers;
  int64_t K, dim;
  PRISM_HD void operator()(int64_t g) const {
    kern::softtriple_reg_row<float>(reg, dfac, centers, K, dim, g);
  }
};

struct SoftTripleRegGrad {
  float* dcenters;
  const float* dfac;
  const float* centers;
  int64_t K, dim;
  float scale;
  PRISM_HD void operator()(int64_t idx) const {
    dcenters[idx] = kern::softtriple_reg_grad_one<float>(dfac, centers, K, dim, scale, idx);
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
void multi_similarity_forward(L& launch, float* row_loss, float* row_stats, const float* sim,
                              const int32_t* row_labels, const int32_t* col_labels, const int32_t* row_mask,
                              const int32_t* col_mask, int64_t rows, int64_t cols,
                              const MultiSimilarityParams& p) {
  launch.each(
      rows, MultiSimilarityRow{row_loss, row_stats, sim, row_labels, col_labels, row_mask, col_mask, cols, p},
      "multi_similarity_forward");
}

template <class L>
void multi_similarity_backward(L& launch, float* dsim, const float* sim, const float* row_stats,
                               const int32_t* row_labels, const int32_t* col_labels, const int32_t* row_mask,
                               const int32_t* col_mask, int64_t rows, int64_t cols,
                               const MultiSimilarityParams& p, float scale) {
  launch.each(
      rows * cols,
      MultiSimilarityGrad{dsim, sim, row_stats, row_labels, col_labels, row_mask, col_mask, cols, p, scale},
      "multi_similarity_backward");
}

template <class L>
void softtriple_forward(L& launch, float* row_loss, float* row_lse, const float* sim, const int32_t* labels,
                        const int32_t* row_mask, int64_t rows, int64_t classes, int64_t K,
                        const SoftTripleParams& p) {
  launch.each(rows, SoftTripleRow{row_loss, row_lse, sim, labels, row_mask, classes, K, p},
              "softtriple_forward");
}

template <class L>
void softtriple_backward(L& launch, float* dsim, const float* sim, const float* row_lse,
                         const int32_t* labels, const int32_t* row_mask, int64_t rows, int64_t classes,
                         int64_t K, const SoftTripleParams& p, float scale) {
  launch.each(rows * classes * K, SoftTripleGrad{dsim, sim, row_lse, labels, row_mask, classes, K, p, scale},
              "softtriple_backward");
}

template <class L>
void softtriple_reg_forward(L& launch, float* reg, float* dfac, const float* centers, int64_t classes,
                            int64_t K, int64_t dim) {
  launch.each(classes * K, SoftTripleRegRow{reg, dfac, centers, K, dim}, "softtriple_reg_forward");
}

template <class L>
void softtriple_reg_backward(L& launch, float* dcenters, const float* dfac, const float* centers,
                             int64_t classes, int64_t K, int64_t dim, float scale) {
  if (dim <= 0) return;
  launch.each(classes * K * dim, SoftTripleRegGrad{dcenters, dfac, centers, K, dim, scale},
              "softtriple_reg_backward");
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
