// Weight import from safetensors files with torchvision / timm key names (reference code): a torchvision
// state_dict saved with safetensors.torch.save_file, or timm's model.safetensors (timm's ResNet keys equal
// torchvision's). Strict: every backbone parameter and buffer must be in the file with its shape, and nothing
// else may be; the classifier `fc.*` (ImageNet's 1000 classes; `last_linear.*` in BN-Inception ports) is dropped, `*.num_batches_tracked` ignored, and
// one leading `module.` (DataParallel) or `model.` prefix removed. F32, F64, F16 and BF16 are converted to f32.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "prism/nn/module.hpp"

namespace prism::nn {

struct ImportReport {
  int64_t loaded = 0;             // tensors copied into the model
  int64_t dropped_head = 0;       // fc.* / last_linear.* entries of the file, not used
  int64_t ignored_counters = 0;   // num_batches_tracked entries
  std::string stripped_prefix{};  // "module." / "model." when one was removed
};

// Copies the backbone's parameters and buffers (every entry whose name does not start with "fc.") from the
// safetensors file at `path` into `model`; the head keeps its values. On any mismatch throws prism::Error
// whose first line names the file and the counts and whose following lines (one per kind: missing,
// unexpected, mis-shaped, not a float dtype) name up to 8 keys each; the model is then unchanged.
ImportReport import_weights(Module& model, const std::string& path);

}  // namespace prism::nn
