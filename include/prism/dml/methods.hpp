// The training-method table (DESIGN §4.6, §6.2): one row per NOISE.METHOD value saying whether the method
// uses the cross-batch memory, which selection rule ranks the batch against it, which rows it enqueues, and
// whether it needs known noise flags. Config validation, the trainer's step, the CLI's --method and the docs
// all read this table; a new method is a new row. Reference code.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "prism/dml/selector.hpp"

namespace prism::dml {

// Which batch rows go into the memory after the optimizer step.
enum class EnqueuePolicy {
  none,  // no memory
  all,   // every row (XBM: the memory is not filtered)
  kept,  // the rows the selection kept (PRISM: only samples judged clean enter the memory)
};

struct MethodSpec {
  const char* name;  // the NOISE.METHOD value
  bool uses_memory;  // memory loss + enqueueing from XBM.START_ITERATION on
  SelectMethod selection;
  EnqueuePolicy enqueue;
  bool needs_noise_flags;  // only runs with known noise (generated, or a cleaned twin)
  const char* summary;     // one line for --help and docs
};

// Every method, in the order docs and --help list them.
std::span<const MethodSpec> methods();
// The row of `name`; throws prism::Error listing the names when there is none.
const MethodSpec& method_spec(const std::string& name);
std::vector<std::string> method_names();
std::string method_names_text(const char* separator = ", ");  // "contrastive, xbm, trm, prism, oracle"

}  // namespace prism::dml
