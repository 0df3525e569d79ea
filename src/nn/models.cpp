// The reference nets fmnist-cnn and mlp and the ResNet embedders, by name (reference code); layer list and
// naming documented in models.hpp and resnet.hpp.
#include "prism/nn/models.hpp"

#include "prism/core/runtime.hpp"
#include "prism/nn/bninception.hpp"
#include "prism/nn/init.hpp"
#include "prism/nn/layers.hpp"
#include "prism/nn/resnet.hpp"

namespace prism::nn {

namespace {
void require_option(bool ok, const std::string& model, const std::string& what) {
  if (!ok) throw Error("make_model(" + model + "): " + what);
}

std::shared_ptr<Module> make_fmnist_cnn(const ModelOptions& o) {
  require_option(o.in_channels > 0, "fmnist-cnn",
                 "in_channels must be positive, got " + std::to_string(o.in_channels));
  auto net = std::make_shared<Sequential>();
  const int64_t widths[] = {o.in_channels, 32, 64, 128};
  for (int i = 1; i <= 3; ++i) {
    const std::string k = std::to_string(i);
    net->add("conv" + k, std::make_shared<Conv2d>(widths[i - 1], widths[i], 3, 1, 1, false));
    net->add("bn" + k, std::make_shared<BatchNorm>(widths[i]));
    net->add("relu" + k, std::make_shared<ReLU>());
    if (i < 3) net->add("pool" + k, std::make_shared<MaxPool2d>(2));
  }
  net->add("gap", std::make_shared<GlobalAvgPool>());
  net->add("fc", std::make_shared<Linear>(128, o.embed_dim));
  net->add("norm", std::make_shared<L2Normalize>());
  return net;
}

std::shared_ptr<Module> make_mlp(const ModelOptions& o) {
  require_option(o.in_features > 0, "mlp",
                 "in_features must be positive, got " + std::to_string(o.in_features));
  auto net = std::make_shared<Sequential>();
  int64_t width = o.in_features;
  for (size_t i = 0; i < o.hidden.size(); ++i) {
    require_option(
        o.hidden[i] > 0, "mlp",
        "hidden size " + std::to_string(i) + " must be positive, got " + std::to_string(o.hidden[i]));
    const std::string k = std::to_string(i + 1);
    net->add("linear" + k, std::make_shared<Linear>(width, o.hidden[i], false));
    net->add("bn" + k, std::make_shared<BatchNorm>(o.hidden[i]));
    net->add("relu" + k, std::make_shared<ReLU>());
    width = o.hidden[i];
  }
  net->add("fc", std::make_shared<Linear>(width, o.embed_dim));
  net->add("norm", std::make_shared<L2Normalize>());
  return net;
}
}  // namespace

std::vector<std::string> model_names() {
  return {"fmnist-cnn", "mlp", "resnet18", "resnet34", "resnet50", "bninception"};
}

std::shared_ptr<Module> make_model(const std::string& name, const ModelOptions& o) {
  require_option(o.embed_dim > 0, name, "embed_dim must be positive, got " + std::to_string(o.embed_dim));
  std::shared_ptr<Module> net;
  if (name == "fmnist-cnn")
    net = make_fmnist_cnn(o);
  else if (name == "mlp")
    net = make_mlp(o);
  else if (name == "resnet18" || name == "resnet34" || name == "resnet50")
    net = std::make_shared<ResNet>(std::stoi(name.substr(6)), o.in_channels, o.embed_dim);
  else if (name == "bninception")
    net = std::make_shared<BNInception>(o.in_channels, o.embed_dim);
  else
    throw Error("make_model: unknown model '" + name +
                "' (known: fmnist-cnn, mlp, resnet18, resnet34, resnet50, bninception)");
  init_parameters(*net, o.seed);
  return net;
}

}  // namespace prism::nn
