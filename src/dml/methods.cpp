// The training-method table (reference code; see methods.hpp).
#include "prism/dml/methods.hpp"

#include <array>

#include "prism/core/runtime.hpp"

namespace prism::dml {

namespace {

constexpr std::array<MethodSpec, 6> kMethods = {{
    {"contrastive", false, SelectMethod::none, EnqueuePolicy::none, false,
     "batch contrastive loss only, no memory"},
    {"xbm", true, SelectMethod::none, EnqueuePolicy::all, false,
     "cross-batch memory, every sample enters it, no selection"},
    {"trm", true, SelectMethod::trm, EnqueuePolicy::kept, false,
     "memory + plain top-R: drop the r = floor(R n) lowest clean probabilities"},
    {"prism", true, SelectMethod::prism, EnqueuePolicy::kept, false,
     "memory + sTRM, the paper's method: top-R smoothed by a window of thresholds"},
    {"oracle", true, SelectMethod::oracle, EnqueuePolicy::kept, true,
     "memory + drop exactly the known-noisy samples (an upper bound; needs noise flags)"},
    {"knn", true, SelectMethod::knn, EnqueuePolicy::kept, false,
     "memory + kNN rule: drop a sample whose class's share among its k nearest memory rows is below alpha "
     "times the largest share (no noise rate)"},
}};

}  // namespace

std::span<const MethodSpec> methods() {
  return kMethods;
}

const MethodSpec& method_spec(const std::string& name) {
  for (const MethodSpec& m : kMethods)
    if (name == m.name) return m;
  throw Error("unknown method '" + name + "' (expected " + method_names_text() + ")");
}

std::vector<std::string> method_names() {
  std::vector<std::string> out;
  for (const MethodSpec& m : kMethods) out.push_back(m.name);
  return out;
}

std::string method_names_text(const char* separator) {
  std::string out;
  for (const MethodSpec& m : kMethods) out += (out.empty() ? "" : separator) + std::string(m.name);
  return out;
}

}  // namespace prism::dml
