// The saved state of the DML components (memory bank, selector window, sampler): name → tensor plus name →
// integer. The trainer writes it into a checkpoint (tensors as safetensors entries, integers in the metadata)
// and hands it back on resume. Reference code.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "prism/core/runtime.hpp"
#include "prism/core/tensor.hpp"

namespace prism::dml {

struct StateDict {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, int64_t> ints;

  const Tensor& tensor(const std::string& key) const {
    auto it = tensors.find(key);
    if (it == tensors.end()) throw Error("state: missing tensor '" + key + "'");
    return it->second;
  }
  int64_t integer(const std::string& key) const {
    auto it = ints.find(key);
    if (it == ints.end()) throw Error("state: missing integer '" + key + "'");
    return it->second;
  }
};

}  // namespace prism::dml
