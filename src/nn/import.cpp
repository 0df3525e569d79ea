// Weight import from torchvision / timm safetensors files (reference code; rules in import.hpp).
#include "prism/nn/import.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "prism/core/checked.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/safetensors.hpp"
#include "prism/nn/resnet.hpp"

namespace prism::nn {

namespace {

constexpr size_t kNamesPerLine = 8;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool starts_with(const std::string& s, const std::string& head) {
  return s.compare(0, head.size(), head) == 0;
}

// "kind N: a, b, c, … (and M more)" or nothing for an empty list.
std::string listing(const char* kind, const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string line = "\n  " + std::string(kind) + " (" + std::to_string(names.size()) + "): ";
  for (size_t i = 0; i < names.size() && i < kNamesPerLine; ++i) line += (i ? ", " : "") + names[i];
  if (names.size() > kNamesPerLine)
    line += ", … (and " + std::to_string(names.size() - kNamesPerLine) + " more)";
  return line;
}

}  // namespace

ImportReport import_weights(Module& model, const std::string& path) {
  const SafeTensors file = read_safetensors(path);
  ImportReport report;

  // One common leading prefix (DataParallel's "module.", a Lightning/timm wrapper's "model.") is removed
  // when every key carries it.
  for (const char* prefix : {"module.", "model."}) {
    bool all = !file.tensors.empty();
    for (const auto& [name, t] : file.tensors) all = all && starts_with(name, prefix);
    if (all) {
      report.stripped_prefix = prefix;
      break;
    }
  }
  const size_t skip = report.stripped_prefix.size();

  TensorMap state = model.state();  // deep copies: the head keeps its values, the rest is overwritten below
  std::set<std::string> expected;
  for (const auto& [name, t] : state)
    if (!is_head_parameter(name)) expected.insert(name);

  std::vector<std::string> unexpected, misshaped, not_float, missing;
  std::map<std::string, std::vector<float>> values;
  std::set<std::string> seen;  // expected names present in the file (whether usable or not)
  for (const auto& [file_name, t] : file.tensors) {
    const std::string name = file_name.substr(skip);
    if (ends_with(name, "num_batches_tracked")) {
      ++report.ignored_counters;
      continue;
    }
    if (is_head_parameter(name) || starts_with(name, "last_linear.")) {  // a classifier, not our head
      ++report.dropped_head;
      continue;
    }
    auto it = state.find(name);
    if (it == state.end() || !expected.count(name)) {
      unexpected.push_back(file_name);
      continue;
    }
    seen.insert(name);
    if (it->second.shape() != t.shape) {
      misshaped.push_back(file_name + " " + shape_string(t.shape) + " vs model " +
                          shape_string(it->second.shape()));
      continue;
    }
    if (t.dtype == StDType::I32 || t.dtype == StDType::I64 || t.dtype == StDType::U8) {
      not_float.push_back(file_name + " " + st_dtype_name(t.dtype));
      continue;
    }
    values[name] = file.get_as_f32(file_name);
  }
  for (const std::string& name : expected)
    if (!seen.count(name)) missing.push_back(name);
  if (!missing.empty() || !unexpected.empty() || !misshaped.empty() || !not_float.empty())
    throw Error(path + ": the weights do not fit " + model.repr() + " (" + std::to_string(missing.size()) +
                " missing, " + std::to_string(unexpected.size()) + " unexpected, " +
                std::to_string(misshaped.size()) + " mis-shaped, " + std::to_string(not_float.size()) +
                " not floating point; fc.*, last_linear.* and num_batches_tracked are ignored)" +
                listing("missing", missing) + listing("unexpected", unexpected) +
                listing("mis-shaped (file vs model)", misshaped) + listing("not floating point", not_float));

  for (auto& [name, v] : values) {
    Tensor& dst = state.at(name);
    dst = Tensor::from_vector(dst.shape(), v, dst.device());
    ++report.loaded;
  }
  model.load_state(state);
  return report;
}

}  // namespace prism::nn
