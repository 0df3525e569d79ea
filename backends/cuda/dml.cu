// CUDA metric-learning kernels: the exact kernels of cuda/exact/dml.hpp in both modes (contrastive,
// multi-similarity and SoftTriple loss rows and gradients, class means of memory rows, row copies into the memory ring).
#include "cuda/cuda_backend.hpp"
#include "cuda/exact/dml.hpp"
#include "cuda/launch.cuh"

namespace prism::cuda {

void CudaBackend::contrastive_forward(float* row_loss, const float* sim, const int32_t* row_labels,
                                      const int32_t* col_labels, const int32_t* row_mask,
                                      const int32_t* col_mask, int64_t rows, int64_t cols, float margin,
                                      float pos_eps) {
  Launcher launch(*this);
  exact::contrastive_forward(launch, row_loss, sim, row_labels, col_labels, row_mask, col_mask, rows, cols,
                             margin, pos_eps);
}

void CudaBackend::contrastive_backward(float* dsim, const float* sim, const int32_t* row_labels,
                                       const int32_t* col_labels, const int32_t* row_mask,
                                       const int32_t* col_mask, int64_t rows, int64_t cols, float margin,
                                       float pos_eps, float scale) {
  Launcher launch(*this);
  exact::contrastive_backward(launch, dsim, sim, row_labels, col_labels, row_mask, col_mask, rows, cols,
                              margin, pos_eps, scale);
}

void CudaBackend::multi_similarity_forward(float* row_loss, float* row_stats, const float* sim,
                                           const int32_t* row_labels, const int32_t* col_labels,
                                           const int32_t* row_mask, const int32_t* col_mask, int64_t rows,
                                           int64_t cols, const MultiSimilarityParams& p) {
  Launcher launch(*this);
  exact::multi_similarity_forward(launch, row_loss, row_stats, sim, row_labels, col_labels, row_mask,
                                  col_mask, rows, cols, p);
}

void CudaBackend::multi_similarity_backward(float* dsim, const float* sim, const float* row_stats,
                                            const int32_t* row_labels, const int32_t* col_labels,
                                            const int32_t* row_mask, const int32_t* col_mask, int64_t rows,
                                            int64_t cols, const MultiSimilarityParams& p, float scale) {
  Launcher launch(*this);
  exact::multi_similarity_backward(launch, dsim, sim, row_stats, row_labels, col_labels, row_mask, col_mask,
                                   rows, cols, p, scale);
}

void CudaBackend::softtriple_forward(float* row_loss, float* row_lse, const float* sim, const int32_t* labels,
                                     const int32_t* row_mask, int64_t rows, int64_t classes, int64_t K,
                                     const SoftTripleParams& p) {
  Launcher launch(*this);
  exact::softtriple_forward(launch, row_loss, row_lse, sim, labels, row_mask, rows, classes, K, p);
}

void CudaBackend::softtriple_backward(float* dsim, const float* sim, const float* row_lse,
                                      const int32_t* labels, const int32_t* row_mask, int64_t rows,
                                      int64_t classes, int64_t K, const SoftTripleParams& p, float scale) {
  Launcher launch(*this);
  exact::softtriple_backward(launch, dsim, sim, row_lse, labels, row_mask, rows, classes, K, p, scale);
}

void CudaBackend::softtriple_reg_forward(float* reg, float* dfac, const float* centers, int64_t classes,
                                         int64_t K, int64_t dim) {
  Launcher launch(*this);
  exact::softtriple_reg_forward(launch, reg, dfac, centers, classes, K, dim);
}

void CudaBackend::softtriple_reg_backward(float* dcenters, const float* dfac, const float* centers,
                                          int64_t classes, int64_t K, int64_t dim, float scale) {
  Launcher launch(*this);
  exact::softtriple_reg_backward(launch, dcenters, dfac, centers, classes, K, dim, scale);
}

void CudaBackend::segment_mean_rows(float* out, const float* in, const int32_t* order, const int32_t* offsets,
                                    int64_t groups, int64_t dim) {
  Launcher launch(*this);
  exact::segment_mean_rows(launch, out, in, order, offsets, groups, dim);
}

void CudaBackend::copy_rows(float* dst, const int32_t* dst_rows, const float* src, const int32_t* src_rows,
                            int64_t count, int64_t dim) {
  Launcher launch(*this);
  exact::copy_rows(launch, dst, dst_rows, src, src_rows, count, dim);
}

}  // namespace prism::cuda
