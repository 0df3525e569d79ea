// The backend interface: every primitive kernel a backend (cpu, cuda) provides, grouped by op family.
// Signatures follow one habit: outputs (and saved intermediates) first, then inputs, then sizes. Pointers
// live on the backend's device; sizes are element counts. The canonical exact-mode arithmetic of each kernel
// is stated beside it and spelled out in docs/numerics.md; fast mode may reorder freely within each op's
// documented tolerance.
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "prism/kernels/params.hpp"

namespace prism {

enum class Mode { exact, fast };
enum class DeviceType { cpu, cuda };

const char* mode_name(Mode m);
const char* device_name(DeviceType d);

// Every kernel of the interface, forward and backward. The parity test walks this list; a static_assert ties
// it to the name table, so an op cannot be added without a name (and a parity case — tests/test_parity.cpp
// checks).
enum class Op : int {
  fill,
  copy,
  gemm,
  im2col,
  col2im,
  conv2d_forward,
  conv2d_backward,
  unary_forward,
  unary_backward,
  binary,
  binary_scalar,
  broadcast_binary,
  reduce_sum,
  reduce_mid,
  reduce_inner,
  transpose,
  maxpool2d_forward,
  maxpool2d_backward,
  avgpool2d_forward,
  avgpool2d_backward,
  batchnorm_stats,
  batchnorm_forward,
  batchnorm_backward,
  batchnorm_update_running,
  l2_normalize_forward,
  l2_normalize_backward,
  softmax_rows,
  sgd_update,
  adam_update,
  contrastive_forward,
  contrastive_backward,
  multi_similarity_forward,
  multi_similarity_backward,
  softtriple_forward,
  softtriple_backward,
  softtriple_reg_forward,
  softtriple_reg_backward,
  segment_mean_rows,
  copy_rows,
  count
};
inline constexpr std::array<std::string_view, static_cast<int>(Op::count)> kOpNames = {
    "fill",
    "copy",
    "gemm",
    "im2col",
    "col2im",
    "conv2d_forward",
    "conv2d_backward",
    "unary_forward",
    "unary_backward",
    "binary",
    "binary_scalar",
    "broadcast_binary",
    "reduce_sum",
    "reduce_mid",
    "reduce_inner",
    "transpose",
    "maxpool2d_forward",
    "maxpool2d_backward",
    "avgpool2d_forward",
    "avgpool2d_backward",
    "batchnorm_stats",
    "batchnorm_forward",
    "batchnorm_backward",
    "batchnorm_update_running",
    "l2_normalize_forward",
    "l2_normalize_backward",
    "softmax_rows",
    "sgd_update",
    "adam_update",
    "contrastive_forward",
    "contrastive_backward",
    "multi_similarity_forward",
    "multi_similarity_backward",
    "softtriple_forward",
    "softtriple_backward",
    "softtriple_reg_forward",
    "softtriple_reg_backward",
    "segment_mean_rows",
    "copy_rows",
};
static_assert(kOpNames.size() == static_cast<size_t>(Op::count), "every Op needs a name");
inline std::string_view op_name(Op op) {
  return kOpNames[static_cast<int>(op)];
}

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceType device() const = 0;
  // Whether this backend has the kernel; the core ops check it before every call (Tensor::backend_for).
  virtual bool supports(Op op) const = 0;
  virtual void synchronize() {}

  // ---- settings: the numeric mode and host thread count this backend's kernels use. Kernels read these,
  // never the process-wide settings: prism::set_mode / set_num_threads forward to every backend the registry
  // holds (backends/registry.cpp). A backend made by hand (tests) starts exact with one thread, the CPU
  // backend with all hardware threads.
  Mode mode() const { return mode_.load(std::memory_order_relaxed); }
  void set_mode(Mode m) { mode_.store(m, std::memory_order_relaxed); }
  int num_threads() const { return threads_.load(std::memory_order_relaxed); }  // >= 1
  void set_num_threads(int n) { threads_.store(n > 0 ? n : 1, std::memory_order_relaxed); }

  // ---- memory ---------------------------------------------------------------------------------------------
  virtual void* alloc(size_t bytes) = 0;
  virtual void dealloc(void* p, size_t bytes) = 0;
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  virtual void fill_f32(float* x, float value, int64_t n) = 0;
  virtual void fill_i32(int32_t* x, int32_t value, int64_t n) = 0;

  // ---- gemm -----------------------------------------------------------------------------------------------
  // C[M,N] = alpha · op(A)[M,K] · op(B)[K,N], row-major; op(A) = A (M×K) or Aᵀ (A stored K×M) per trans_a.
  // Exact: the reduction in `order`, then one multiply by alpha (skipped when alpha == 1).
  virtual void gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
                    bool trans_b, float alpha, GemmOrder order) = 0;

  // ---- conv (im2col lowering) -----------------------------------------------------------------------------
  // col[(n·OH + oh)·OW + ow, (c·KH + ky)·KW + kx] = in[n, c, oh·s − p + ky, ow·s − p + kx] (0 outside).
  virtual void im2col(float* col, const float* in, const Conv2dShape& s) = 0;
  // The adjoint, written as a gather: din[n,c,y,x] = Σ over (ky, kx) ascending of the col entries that read
  // it.
  virtual void col2im(float* din, const float* col, const Conv2dShape& s) = 0;
  // The whole conv2d and its gradients, defined as the composition of the primitives above
  // (src/core/backend_conv.cpp, which is also the default): out[n, co, p] = rows·Wᵀ in chain order, read
  // back to NCHW, then + bias[co] (broadcast_binary); dw = g_rowsᵀ · rows and d rows = g_rows · W (both
  // chunked), dx = col2im(d rows), db = reduce_mid(dout) over (n, p). A backend may override them to skip the
  // im2col matrix and the transposes, bit-identical to the composition in exact mode (the CPU backend does:
  // backends/cpu/conv.cpp). in / w / dout are NCHW / [Co, C, KH, KW]; bias may be null (none), and dx, dw or
  // db may be null (not wanted).
  virtual void conv2d_forward(float* out, const float* in, const float* w, const float* bias,
                              const Conv2dShape& s, int64_t co);
  virtual void conv2d_backward(float* dx, float* dw, float* db, const float* dout, const float* in,
                               const float* w, const Conv2dShape& s, int64_t co);

  // ---- elementwise ----------------------------------------------------------------------------------------
  virtual void unary_forward(UnaryOp op, float* out, const float* in, int64_t n) = 0;
  // din = dout · f'(in); `out` is the forward output (used by exp, sqrt). ReLU'(0) = 0.
  virtual void unary_backward(UnaryOp op, float* din, const float* dout, const float* in, const float* out,
                              int64_t n) = 0;
  virtual void binary(BinaryOp op, float* out, const float* a, const float* b, int64_t n) = 0;
  virtual void binary_scalar(BinaryOp op, float* out, const float* a, float b, int64_t n) = 0;
  // out[o, m, i] = a[o, m, i] op b[m]  — bias over rows (inner = 1) or channels (inner = H·W).
  virtual void broadcast_binary(BinaryOp op, float* out, const float* a, const float* b, int64_t outer,
                                int64_t mid, int64_t inner) = 0;

  // ---- reductions (exact: chunks of kReduceChunk in index order, chunk partials added in order) -----------
  virtual void reduce_sum(float* out1, const float* in, int64_t n) = 0;
  // out[m] = Σ_{o,i} in[o, m, i], the axis taken in the order o·inner + i.
  virtual void reduce_mid(float* out, const float* in, int64_t outer, int64_t mid, int64_t inner) = 0;
  // out[o] = Σ_i in[o, i].
  virtual void reduce_inner(float* out, const float* in, int64_t outer, int64_t inner) = 0;
  // out[b, c, r] = in[b, r, c] for each of `batch` matrices.
  virtual void transpose(float* out, const float* in, int64_t batch, int64_t rows, int64_t cols) = 0;

  // ---- pooling --------------------------------------------------------------------------------------------
  // Max over the window; ties keep the first in (ky, kx) order; padding is −inf. argmax holds the flat input
  // index.
  virtual void maxpool2d_forward(float* out, int32_t* argmax, const float* in, const Pool2dShape& s) = 0;
  // Gather: din[n,c,y,x] = Σ over windows (oh, ow ascending) whose argmax is (y, x) of dout.
  virtual void maxpool2d_backward(float* din, const float* dout, const int32_t* argmax,
                                  const Pool2dShape& s) = 0;
  // Mean over the window, padding counted (count_include_pad, torch's default), divided by k·k.
  virtual void avgpool2d_forward(float* out, const float* in, const Pool2dShape& s) = 0;
  virtual void avgpool2d_backward(float* din, const float* dout, const Pool2dShape& s) = 0;

  // ---- batch norm (channels at axis 1; x viewed as [N, C, HW]) --------------------------------------------
  // mean[c] = Σx / M; var[c] = Σ (x − mean)² / M (biased), both chunked over the M = N·HW axis.
  virtual void batchnorm_stats(float* mean, float* var, const float* x, int64_t n, int64_t c, int64_t hw) = 0;
  // y = fma(gamma, (x − mean) · invstd, beta), invstd = 1 / sqrt(var + eps).
  virtual void batchnorm_forward(float* y, const float* x, const float* mean, const float* var,
                                 const float* gamma, const float* beta, float eps, int64_t n, int64_t c,
                                 int64_t hw) = 0;
  // Training-mode backward (batch statistics): dgamma = Σ dy·x̂, dbeta = Σ dy,
  // dx = (gamma·invstd / M) · (M·dy − dbeta − x̂·dgamma).
  virtual void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                  const float* mean, const float* var, const float* gamma, float eps,
                                  int64_t n, int64_t c, int64_t hw) = 0;
  // running ← (1 − momentum)·running + momentum·batch, the variance made unbiased with M / (M − 1).
  virtual void batchnorm_update_running(float* running_mean, float* running_var, const float* mean,
                                        const float* var, float momentum, int64_t count, int64_t c) = 0;

  // ---- row-wise L2 normalisation --------------------------------------------------------------------------
  // norm[r] = max(sqrt(Σ x²), eps), y = x / norm.
  virtual void l2_normalize_forward(float* y, float* norm, const float* x, int64_t rows, int64_t dim,
                                    float eps) = 0;
  // dx = (dy − y·(y·dy)) / norm.
  virtual void l2_normalize_backward(float* dx, const float* dy, const float* y, const float* norm,
                                     int64_t rows, int64_t dim, float eps) = 0;
  // out[r, :] = softmax(in[r, :]) with the row max subtracted.
  virtual void softmax_rows(float* out, const float* in, int64_t rows, int64_t cols) = 0;

  // ---- optimizers (torch.optim semantics; weight decay added to the gradient) -----------------------------
  virtual void sgd_update(float* param, float* momentum_buf, const float* grad, int64_t n,
                          const SgdParams& p) = 0;
  virtual void adam_update(float* param, float* m, float* v, const float* grad, int64_t n,
                           const AdamParams& p) = 0;

  // ---- fused metric-learning kernels ----------------------------------------------------------------------
  // Contrastive loss rows: row_loss[i] = Σ_j [y_i = y'_j, s_ij < 1 − pos_eps](1 − s_ij) + [y_i ≠ y'_j, s_ij >
  // margin] s_ij over columns with col_mask ≠ 0, for rows with row_mask ≠ 0 (others 0). Masks may be null (=
  // all on).
  virtual void contrastive_forward(float* row_loss, const float* sim, const int32_t* row_labels,
                                   const int32_t* col_labels, const int32_t* row_mask,
                                   const int32_t* col_mask, int64_t rows, int64_t cols, float margin,
                                   float pos_eps) = 0;
  // dsim[i, j] = scale · (−1 active positive, +1 active negative, 0 otherwise); scale = dloss / rows_divisor.
  virtual void contrastive_backward(float* dsim, const float* sim, const int32_t* row_labels,
                                    const int32_t* col_labels, const int32_t* row_mask,
                                    const int32_t* col_mask, int64_t rows, int64_t cols, float margin,
                                    float pos_eps, float scale) = 0;
  // Multi-similarity loss rows with hard-pair mining (kern::ms_row): row_loss [rows], row_stats [rows,
  // kern::kMsStats] (saved for the backward pass), zeros for rows with row_mask = 0. Masks may be null.
  virtual void multi_similarity_forward(float* row_loss, float* row_stats, const float* sim,
                                        const int32_t* row_labels, const int32_t* col_labels,
                                        const int32_t* row_mask, const int32_t* col_mask, int64_t rows,
                                        int64_t cols, const MultiSimilarityParams& p) = 0;
  // dsim[i, j] = scale · ∂loss_i/∂s_ij from the saved row statistics (kern::ms_grad_one).
  virtual void multi_similarity_backward(float* dsim, const float* sim, const float* row_stats,
                                         const int32_t* row_labels, const int32_t* col_labels,
                                         const int32_t* row_mask, const int32_t* col_mask, int64_t rows,
                                         int64_t cols, const MultiSimilarityParams& p, float scale) = 0;
  // SoftTriple loss rows (kern::softtriple_row): sim [rows, classes·K] against the centers; row_loss and
  // row_lse [rows] (the log-sum-exp over classes, saved for the backward pass).
  virtual void softtriple_forward(float* row_loss, float* row_lse, const float* sim, const int32_t* labels,
                                  const int32_t* row_mask, int64_t rows, int64_t classes, int64_t K,
                                  const SoftTripleParams& p) = 0;
  // dsim [rows, classes·K] = scale · ∂loss_i/∂s (kern::softtriple_grad_one).
  virtual void softtriple_backward(float* dsim, const float* sim, const float* row_lse, const int32_t* labels,
                                   const int32_t* row_mask, int64_t rows, int64_t classes, int64_t K,
                                   const SoftTripleParams& p, float scale) = 0;
  // SoftTriple's centre regulariser (kern::softtriple_reg_row): reg [classes·K] (each center's pairs with the
  // later centers of its class), dfac [classes·K, K] saved for the backward pass; centers [classes·K, dim].
  virtual void softtriple_reg_forward(float* reg, float* dfac, const float* centers, int64_t classes,
                                      int64_t K, int64_t dim) = 0;
  // dcenters [classes·K, dim] = scale · Σ_u dfac[g, u] · centers[u] (kern::softtriple_reg_grad_one).
  virtual void softtriple_reg_backward(float* dcenters, const float* dfac, const float* centers,
                                       int64_t classes, int64_t K, int64_t dim, float scale) = 0;
  // out[g, :] = mean of in[order[offsets[g]] … order[offsets[g+1] − 1], :] (chunked sum, then ÷ count); 0 if
  // empty.
  virtual void segment_mean_rows(float* out, const float* in, const int32_t* order, const int32_t* offsets,
                                 int64_t groups, int64_t dim) = 0;
  // dst[dst_rows[j], :] = src[src_rows[j], :] for j < count.
  virtual void copy_rows(float* dst, const int32_t* dst_rows, const float* src, const int32_t* src_rows,
                         int64_t count, int64_t dim) = 0;

 private:
  std::atomic<Mode> mode_{Mode::exact};
  std::atomic<int> threads_{1};
};

}  // namespace prism
