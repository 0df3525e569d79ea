// Image-list datasets: a PRISM CSV list + image root, checked once at build time, decoded and transformed per
// sample (reference code; the missing/corrupt image policy is described in datasets.hpp).
#include <tbb/parallel_for.h>

#include <iostream>

#include "prism/core/runtime.hpp"
#include "prism/data/datasets.hpp"

namespace prism {

MissingImagePolicy parse_missing_image_policy(const std::string& s) {
  if (s == "skip") return MissingImagePolicy::skip;
  if (s == "error") return MissingImagePolicy::error;
  throw Error("DATA.MISSING_IMAGES: unknown policy '" + s + "' (expected skip or error)");
}

ImageListDataset::ImageListDataset(const ImageList& list, std::vector<uint8_t> flags, std::string root,
                                   ImageTransformSpec spec, MissingImagePolicy policy, std::string name)
    : spec_(std::move(spec)), name_(std::move(name)) {
  spec_.validate();
  if (!flags.empty() && flags.size() != list.size())
    throw Error(name_ + ": " + std::to_string(flags.size()) + " noise flags for " +
                std::to_string(list.size()) + " list entries");
  const size_t n = list.size();
  std::vector<std::string> resolved(n), why(n);
  std::vector<uint8_t> ok(n, 0);
  // Header probes are independent file reads; running them in parallel hides some of the latency.
  tbb::parallel_for(size_t(0), n, [&](size_t i) {
    resolved[i] = resolve_path(root, list.paths[i]);
    ok[i] = probe_image_file(resolved[i], nullptr, nullptr, &why[i]) ? 1 : 0;
  });
  for (size_t i = 0; i < n; ++i) {
    if (!ok[i]) {
      if (policy == MissingImagePolicy::error)
        throw Error(name_ + ": entry " + std::to_string(i + 1) + " '" + resolved[i] + "': " + why[i] +
                    " (set DATA.MISSING_IMAGES: skip to drop such entries)");
      skipped_.push_back({static_cast<int64_t>(i + 1), resolved[i], why[i]});
      continue;
    }
    paths_.push_back(resolved[i]);
    entries_.push_back(static_cast<int64_t>(i + 1));
    labels_.push_back(list.labels[i]);
    if (!flags.empty()) noise_flags_.push_back(flags[i]);
  }
  if (!skipped_.empty()) {
    std::string msg = "warning: " + name_ + ": skipped " + std::to_string(skipped_.size()) + " of " +
                      std::to_string(n) + " entries (missing or not an image):";
    for (size_t k = 0; k < skipped_.size() && k < 5; ++k)
      msg += "\n  entry " + std::to_string(skipped_[k].entry) + " '" + skipped_[k].path +
             "': " + skipped_[k].reason;
    if (skipped_.size() > 5) msg += "\n  ...";
    std::cerr << msg << "\n";
  }
  if (paths_.empty())
    throw Error(name_ + ": no usable images (all " + std::to_string(n) + " entries skipped)");
}

std::string ImageListDataset::describe() const {
  return name_ + " (" + std::to_string(paths_.size()) + " images)";
}

void ImageListDataset::load_sample(int64_t i, bool train, Rng& rng, float* out) const {
  try {
    transform_to_chw(decode_image_file(paths_.at(static_cast<size_t>(i))), spec_, train, rng, out);
  } catch (const Error& e) {
    throw Error(name_ + ": entry " + std::to_string(entries_.at(static_cast<size_t>(i))) + ": " + e.what());
  }
}

Image ImageListDataset::preview(int64_t i) const {
  Rng unused;
  return transform_image(decode_image_file(paths_.at(static_cast<size_t>(i))), spec_, false, unused);
}

}  // namespace prism
