// The reference nets, built by name (reference code). Both end in an L2-normalised embedding of embed_dim.
//   fmnist-cnn  input [N, in_channels, H, W] (Fashion-MNIST: [N, 1, 28, 28]):
//               conv1 3×3 in→32 pad 1, bn1, relu1, pool1 (max 2) → conv2 3×3 32→64 pad 1, bn2, relu2, pool2
//               (max 2) → conv3 3×3 64→128 pad 1, bn3, relu3 → gap (global average) → fc linear 128→d → norm
//               (L2).
//   mlp         input [N, in_features]: for each hidden size h_i, linear{i} (no bias) → bn{i} (1d) → relu{i};
//               then fc linear → d, norm (L2).
//   resnet18, resnet34, resnet50  input [N, in_channels, H, W]: torchvision's ResNets with a linear head of d
//               and L2 normalisation (resnet.hpp).
// The convolutions and the hidden linears have no bias: batch norm right after removes any constant per
// channel, so such a bias would get a zero gradient (and only feed round-off to the optimizer). Parameter
// names are the child names ("conv1.weight", "bn1.running_var", "fc.bias"), the same as a
// torch.nn.Sequential(OrderedDict(...)) with these names (tests/reference/make_golden.py builds exactly
// that).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "prism/nn/module.hpp"

namespace prism::nn {

struct ModelOptions {
  int64_t embed_dim = 64;
  int64_t in_channels = 1;              // fmnist-cnn, resnet*
  int64_t in_features = 0;              // mlp (required)
  std::vector<int64_t> hidden = {512};  // mlp hidden sizes (may be empty: a linear embedder)
  uint64_t seed = 0;                    // init_parameters seed
};

// Builds and initialises the named net; throws prism::Error for an unknown name (listing the known ones) or
// bad options (naming the option and its value).
std::shared_ptr<Module> make_model(const std::string& name, const ModelOptions& options = {});
std::vector<std::string> model_names();

}  // namespace prism::nn
