// CPU metric-learning kernels: the reference bodies of kernels/dml.hpp (contrastive, multi-similarity and
// SoftTriple losses, memory-bank rows), parallel over rows / elements; both modes run the same bodies.
#include <algorithm>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"
#include "prism/kernels/dml.hpp"

namespace prism::cpu {

void CpuBackend::contrastive_forward(float* row_loss, const float* sim, const int32_t* row_labels,
                                     const int32_t* col_labels, const int32_t* row_mask,
                                     const int32_t* col_mask, int64_t rows, int64_t cols, float margin,
                                     float pos_eps) {
  parallel_each(rows, 4, [&](int64_t i) {
    row_loss[i] =
        kern::contrastive_row(sim, row_labels, col_labels, row_mask, col_mask, cols, margin, pos_eps, i);
  });
}

void CpuBackend::contrastive_backward(float* dsim, const float* sim, const int32_t* row_labels,
                                      const int32_t* col_labels, const int32_t* row_mask,
                                      const int32_t* col_mask, int64_t rows, int64_t cols, float margin,
                                      float pos_eps, float scale) {
  parallel_each(rows * cols, 1 << 14, [&](int64_t idx) {
    dsim[idx] = kern::contrastive_grad_one(sim, row_labels, col_labels, row_mask, col_mask, cols, margin,
                                           pos_eps, scale, idx);
  });
}

void CpuBackend::multi_similarity_forward(float* row_loss, float* row_stats, const float* sim,
                                          const int32_t* row_labels, const int32_t* col_labels,
                                          const int32_t* row_mask, const int32_t* col_mask, int64_t rows,
                                          int64_t cols, const MultiSimilarityParams& p) {
  parallel_each(rows, 4, [&](int64_t i) {
    kern::ms_row<float>(row_loss, row_stats, sim, row_labels, col_labels, row_mask, col_mask, cols, p, i);
  });
}

void CpuBackend::multi_similarity_backward(float* dsim, const float* sim, const float* row_stats,
                                           const int32_t* row_labels, const int32_t* col_labels,
                                           const int32_t* row_mask, const int32_t* col_mask, int64_t rows,
                                           int64_t cols, const MultiSimilarityParams& p, float scale) {
  parallel_each(rows * cols, 1 << 14, [&](int64_t idx) {
    dsim[idx] = kern::ms_grad_one<float>(sim, row_stats, row_labels, col_labels, row_mask, col_mask, cols, p,
                                         scale, idx);
  });
}

void CpuBackend::softtriple_forward(float* row_loss, float* row_lse, const float* sim, const int32_t* labels,
                                    const int32_t* row_mask, int64_t rows, int64_t classes, int64_t K,
                                    const SoftTripleParams& p) {
  parallel_each(rows, 1, [&](int64_t i) {
    kern::softtriple_row<float>(row_loss, row_lse, sim, labels, row_mask, classes, K, p, i);
  });
}

void CpuBackend::softtriple_backward(float* dsim, const float* sim, const float* row_lse,
                                     const int32_t* labels, const int32_t* row_mask, int64_t rows,
                                     int64_t classes, int64_t K, const SoftTripleParams& p, float scale) {
  parallel_each(rows * classes * K, 1 << 12, [&](int64_t idx) {
    dsim[idx] = kern::softtriple_grad_one<float>(sim, row_lse, labels, row_mask, classes, K, p, scale, idx);
  });
}

void CpuBackend::softtriple_reg_forward(float* reg, float* dfac, const float* centers, int64_t classes,
                                        int64_t K, int64_t dim) {
  parallel_each(classes * K, 4,
                [&](int64_t g) { kern::softtriple_reg_row<float>(reg, dfac, centers, K, dim, g); });
}

void CpuBackend::softtriple_reg_backward(float* dcenters, const float* dfac, const float* centers,
                                         int64_t classes, int64_t K, int64_t dim, float scale) {
  parallel_each(classes * K * dim, 1 << 12, [&](int64_t idx) {
    dcenters[idx] = kern::softtriple_reg_grad_one<float>(dfac, centers, K, dim, scale, idx);
  });
}

// Same per-element arithmetic as kern::segment_mean_one (chunked over the group's rows), but walked row by
// row so the inner loop runs over contiguous d and vectorises.
void CpuBackend::segment_mean_rows(float* out, const float* in, const int32_t* order, const int32_t* offsets,
                                   int64_t groups, int64_t dim) {
  parallel_each(groups, 1, [&](int64_t g) {
    float* total = out + g * dim;
    const int64_t b = offsets[g], e = offsets[g + 1];
    if (e <= b) {
      std::fill_n(total, dim, 0.0f);
      return;
    }
    std::vector<float> part(dim);
    for (int64_t c0 = b; c0 < e; c0 += kern::kReduceChunk) {
      const int64_t c1 = std::min<int64_t>(e, c0 + kern::kReduceChunk);
      std::fill(part.begin(), part.end(), 0.0f);
      for (int64_t t = c0; t < c1; ++t) {
        const float* row = in + int64_t(order[t]) * dim;
        for (int64_t d = 0; d < dim; ++d) part[d] = part[d] + row[d];
      }
      if (c0 == b)
        std::copy(part.begin(), part.end(), total);
      else
        for (int64_t d = 0; d < dim; ++d) total[d] = total[d] + part[d];
    }
    const float count = static_cast<float>(e - b);
    for (int64_t d = 0; d < dim; ++d) total[d] = total[d] / count;
  });
}

void CpuBackend::copy_rows(float* dst, const int32_t* dst_rows, const float* src, const int32_t* src_rows,
                           int64_t count, int64_t dim) {
  parallel_each(count, 16, [&](int64_t j) {
    std::copy_n(src + int64_t(src_rows[j]) * dim, dim, dst + int64_t(dst_rows[j]) * dim);
  });
}

}  // namespace prism::cpu
