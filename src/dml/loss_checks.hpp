// Input checks shared by the loss ops (contrastive, multi-similarity, SoftTriple): i32 label / mask vectors of
// the right length on the right device, and the optional-mask pointer the kernels take. Internal to src/dml.
#pragma once
#include <cstdint>
#include <string>

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

}  // namespace prism::dml::detail
