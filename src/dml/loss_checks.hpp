// Pieces shared by the loss ops (contrastive, multi-similarity, SoftTriple): input checks (i32 label / mask
// vectors of the right length on the right device, rows against columns), the optional-mask pointer the kernels
// take, and the canonical sum-then-divide that turns per-row terms into the loss. Internal to src/dml.
#pragma once
#include <cstdint>
#include <string>

#include "prism/backend.hpp"
#include "prism/core/error.hpp"
#include "prism/core/tensor.hpp"

namespace prism::dml::detail {

// Throws prism::Error("<op>: <what>") unless ok.
inline void require_loss_input(bool ok, const char* op, const std::string& what) {
  if (!ok) throw Error(std::string(op) + ": " + what);
}

// t must be i32 [n] on like's device (an undefined t passes when optional: "all on").
inline void require_i32_vector(const char* op, const Tensor& t, int64_t n, const Tensor& like,
                               const char* name, bool optional) {
  if (optional && !t.defined()) return;
  require_loss_input(t.defined(), op, std::string(name) + " is undefined");
  require_loss_input(t.dtype() == DType::i32 && t.dim() == 1 && t.size(0) == n, op,
                     std::string(name) + " must be i32 [" + std::to_string(n) + "], got " + t.describe());
  require_loss_input(t.device() == like.device(), op,
                     std::string(name) + " is on " + device_name(t.device()) + ", the similarities on " +
                         device_name(like.device()));
}

// The kernels take a null mask as "all on".
inline const int32_t* mask_or_null(const Tensor& t) {
  return t.defined() ? t.data_i32() : nullptr;
}

// rows [R, d] and cols [C, d], f32, same width and device. Returns false when there is nothing to score
// (divisor ≤ 0 or no rows / columns; the labels are still checked), and the caller returns a zero loss.
inline bool check_rows_cols(const char* op, const Tensor& rows, const Tensor& row_labels, const Tensor& cols,
                            const Tensor& col_labels, float divisor) {
  require_loss_input(rows.defined() && cols.defined(), op, "rows and columns must be defined");
  require_loss_input(rows.dtype() == DType::f32 && rows.dim() == 2, op,
                     "rows must be f32 [R, d], got " + rows.describe());
  require_loss_input(cols.dtype() == DType::f32 && cols.dim() == 2, op,
                     "columns must be f32 [C, d], got " + cols.describe());
  require_loss_input(
      rows.size(1) == cols.size(1), op,
      "rows " + rows.describe() + " and columns " + cols.describe() + " have different widths");
  require_loss_input(
      rows.device() == cols.device(), op,
      "rows on " + std::string(device_name(rows.device())) + ", columns on " + device_name(cols.device()));
  if (!(divisor > 0.0f) || rows.size(0) == 0 || cols.size(0) == 0) {
    require_i32_vector(op, row_labels, rows.size(0), rows, "row_labels", false);
    require_i32_vector(op, col_labels, cols.size(0), cols, "col_labels", false);
    return false;
  }
  return true;
}

// (canonical chunked sum of parts) / divisor as a [1] tensor: d(total / divisor) / d total = g / divisor is what
// each op's backward scales by, as torch's DivBackward computes it.
inline Tensor sum_over(const Tensor& parts, float divisor) {
  Tensor total = Tensor::empty({1}, DType::f32, parts.device());
  parts.backend_for(Op::reduce_sum).reduce_sum(total.data_f32(), parts.data_f32(), parts.numel());
  Tensor out = Tensor::empty({1}, DType::f32, parts.device());
  parts.backend_for(Op::binary_scalar)
      .binary_scalar(BinaryOp::div, out.data_f32(), total.data_f32(), divisor, 1);
  return out;
}

}  // namespace prism::dml::detail
