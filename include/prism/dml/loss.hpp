// The loss interface and the loss table (DESIGN §4.1, §6.3), selected by LOSSES.NAME. A loss scores anchors
// (rows) against references (columns) with row and column masks and an explicit divisor; the batch loss and
// the memory loss of the training step are two calls of it, the memory passed (detached) as columns. A loss
// may own trainable parameters: they live in an nn::Module that the optimizer updates and the checkpoint
// stores. A new loss is a new class and a new row of losses() (DESIGN §7). Reference code.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "prism/core/tensor.hpp"
#include "prism/nn/module.hpp"

namespace prism::dml {

// What a loss may need to build itself (from the config: LOSSES.*, the data's class count, MODEL.HEAD.DIM).
struct LossOptions {
  double margin = 0.5;      // LOSSES.MARGIN
  int32_t num_classes = 0;  // C of the training set
  int64_t dim = 0;          // embedding width
  uint64_t seed = 0;        // for parameters that need an initialisation
};

class Loss {
 public:
  virtual ~Loss() = default;
  virtual const char* name() const = 0;
  // (Σ over rows i with row_mask[i] ≠ 0 of the loss of anchor i against the columns j with col_mask[j] ≠ 0)
  // / divisor. rows [R, d] (differentiable), cols [C, d] (differentiable when they require grad; the same
  // tensor as rows for the batch loss), labels i32 [R] / [C], masks i32 or undefined (all on), everything
  // on one device. divisor ≤ 0 gives 0 with no gradient.
  virtual Tensor pairs(const Tensor& rows, const Tensor& row_labels, const Tensor& cols,
                       const Tensor& col_labels, const Tensor& row_mask, const Tensor& col_mask,
                       float divisor) const = 0;
  // The trainable parameters the loss owns (null when none). Their names in the optimizer and the checkpoint
  // are "loss.<name>".
  virtual nn::Module* parameter_module() { return nullptr; }
  // Whether the loss compares its rows with other samples' embeddings (columns other than the rows). A proxy
  // loss (softtriple) does not: its memory loss is 0.
  virtual bool takes_memory_columns() const { return true; }
};

// The batch loss of DESIGN §4.1: the kept samples against each other, divided by the number kept (`kept`,
// counted on the host from the selection). keep i32 [n] or undefined (all kept).
Tensor batch_loss(const Loss& loss, const Tensor& emb, const Tensor& labels, const Tensor& keep,
                  int64_t kept);
// The memory loss: the whole batch against the memory rows (detached here), rows of removed samples masked,
// divided by the batch size n. 0 (no gradient) when the memory is empty or the loss takes no memory
// columns.
Tensor memory_loss(const Loss& loss, const Tensor& emb, const Tensor& labels, const Tensor& keep,
                   const Tensor& memory, const Tensor& memory_labels);

// ---- the loss table ----------------------------------------------------------------------------------------
struct LossSpec {
  const char* name;                   // LOSSES.NAME
  std::vector<std::string> synonyms;  // other LOSSES.NAME values that mean this loss (the official names)
  const char* summary;
  std::unique_ptr<Loss> (*make)(const LossOptions& options);
};

std::span<const LossSpec> losses();
const LossSpec& loss_spec(const std::string& name);  // by name or synonym; throws listing the names
std::vector<std::string> loss_config_values();       // every accepted LOSSES.NAME (names, then synonyms)
std::unique_ptr<Loss> make_loss(const std::string& name, const LossOptions& options);

}  // namespace prism::dml
