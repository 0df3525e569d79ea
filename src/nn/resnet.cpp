// ResNet-18/34/50 (reference wiring of core ops; torchvision's layout and names, see resnet.hpp).
#include "prism/nn/resnet.hpp"

#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"
#include "prism/nn/bninception.hpp"

namespace prism::nn {

namespace {
std::shared_ptr<Sequential> make_downsample(int64_t in_planes, int64_t out_planes, int64_t stride) {
  if (stride == 1 && in_planes == out_planes) return nullptr;
  auto d = std::make_shared<Sequential>();
  d->add(std::make_shared<Conv2d>(in_planes, out_planes, 1, stride, 0, false));  // "downsample.0"
  d->add(std::make_shared<BatchNorm>(out_planes));                               // "downsample.1"
  return d;
}
}  // namespace

// ---- BasicBlock -------------------------------------------------------------------------------------------

BasicBlock::BasicBlock(int64_t in_planes, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in_planes, planes, 3, stride, 1, false));
  bn1 = register_module("bn1", std::make_shared<BatchNorm>(planes));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(planes, planes, 3, 1, 1, false));
  bn2 = register_module("bn2", std::make_shared<BatchNorm>(planes));
  downsample = make_downsample(in_planes, planes * expansion, stride);
  if (downsample) register_module("downsample", downsample);
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = relu(bn1->forward(conv1->forward(x)));
  out = bn2->forward(conv2->forward(out));
  const Tensor identity = downsample ? downsample->forward(x) : x;
  return relu(add(out, identity));
}

std::string BasicBlock::repr() const {
  return "BasicBlock(" + std::to_string(conv1->in_channels) + "→" + std::to_string(conv2->out_channels) +
         ", stride=" + std::to_string(conv1->stride) + ")";
}

// ---- Bottleneck -------------------------------------------------------------------------------------------

Bottleneck::Bottleneck(int64_t in_planes, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in_planes, planes, 1, 1, 0, false));
  bn1 = register_module("bn1", std::make_shared<BatchNorm>(planes));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(planes, planes, 3, stride, 1, false));
  bn2 = register_module("bn2", std::make_shared<BatchNorm>(planes));
  conv3 = register_module("conv3", std::make_shared<Conv2d>(planes, planes * expansion, 1, 1, 0, false));
  bn3 = register_module("bn3", std::make_shared<BatchNorm>(planes * expansion));
  downsample = make_downsample(in_planes, planes * expansion, stride);
  if (downsample) register_module("downsample", downsample);
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor out = relu(bn1->forward(conv1->forward(x)));
  out = relu(bn2->forward(conv2->forward(out)));
  out = bn3->forward(conv3->forward(out));
  const Tensor identity = downsample ? downsample->forward(x) : x;
  return relu(add(out, identity));
}

std::string Bottleneck::repr() const {
  return "Bottleneck(" + std::to_string(conv1->in_channels) + "→" + std::to_string(conv3->out_channels) +
         ", stride=" + std::to_string(conv2->stride) + ")";
}

// ---- ResNet -----------------------------------------------------------------------------------------------

ResNet::ResNet(int d, int64_t in_channels, int64_t embed_dim) : depth(d) {
  std::vector<int> blocks;
  if (d == 18)
    blocks = {2, 2, 2, 2};
  else if (d == 34 || d == 50)
    blocks = {3, 4, 6, 3};
  else
    throw Error("ResNet: depth must be 18, 34 or 50, got " + std::to_string(d));
  if (in_channels <= 0)
    throw Error("ResNet: in_channels must be positive, got " + std::to_string(in_channels));
  const bool bottleneck = d == 50;
  conv1_ = register_module("conv1", std::make_shared<Conv2d>(in_channels, 64, 7, 2, 3, false));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm>(64));
  maxpool_ = std::make_shared<MaxPool2d>(3, 2, 1);  // no parameters; torchvision's "relu", "maxpool"
  int64_t in_planes = 64;
  const int64_t planes[] = {64, 128, 256, 512};
  for (int stage = 0; stage < 4; ++stage) {
    auto layer = std::make_shared<Sequential>();
    for (int b = 0; b < blocks[static_cast<size_t>(stage)]; ++b) {
      const int64_t stride = (b == 0 && stage > 0) ? 2 : 1;
      if (bottleneck) {
        layer->add(std::make_shared<Bottleneck>(in_planes, planes[stage], stride));
        in_planes = planes[stage] * Bottleneck::expansion;
      } else {
        layer->add(std::make_shared<BasicBlock>(in_planes, planes[stage], stride));
        in_planes = planes[stage] * BasicBlock::expansion;
      }
    }
    layers_.push_back(register_module("layer" + std::to_string(stage + 1), layer));
  }
  feature_dim_ = in_planes;
  fc_ = register_module("fc", std::make_shared<Linear>(feature_dim_, embed_dim));
}

Tensor ResNet::features(const Tensor& x) {
  if (x.dim() != 4) throw Error(repr() + ": input must be [N, C, H, W], got " + x.describe());
  Tensor h = maxpool_->forward(relu(bn1_->forward(conv1_->forward(x))));
  for (auto& layer : layers_) h = layer->forward(h);
  return global_avg_pool(h);
}

Tensor ResNet::forward(const Tensor& x) {
  return l2_normalize(fc_->forward(features(x)));
}

std::string ResNet::repr() const {
  return "ResNet" + std::to_string(depth) + "(features " + std::to_string(feature_dim_) + " → fc " +
         std::to_string(fc_->out_features) + " → L2)";
}

// ---- helpers ----------------------------------------------------------------------------------------------

Tensor embedder_features(Module& model, const Tensor& x) {
  if (auto* resnet = dynamic_cast<ResNet*>(&model)) return resnet->features(x);
  if (auto* inception = dynamic_cast<BNInception*>(&model)) return inception->features(x);
  if (auto* seq = dynamic_cast<Sequential*>(&model)) {
    Tensor h = x;
    for (const auto& [name, child] : seq->children()) {
      if (name == "fc") return h;
      h = child->forward(h);
    }
  }
  throw Error(model.repr() + ": this model has no backbone output before an 'fc' head");
}

bool is_head_parameter(const std::string& name) {
  return name.compare(0, 3, "fc.") == 0;
}

namespace {
void collect_batch_norms(Module& m, const std::string& prefix,
                         std::vector<std::pair<std::string, BatchNorm*>>& out) {
  if (auto* bn = dynamic_cast<BatchNorm*>(&m)) out.emplace_back(prefix, bn);
  for (const auto& [name, child] : m.children())
    collect_batch_norms(*child, prefix.empty() ? name : prefix + "." + name, out);
}
}  // namespace

std::vector<std::pair<std::string, BatchNorm*>> batch_norm_layers(Module& m) {
  std::vector<std::pair<std::string, BatchNorm*>> out;
  collect_batch_norms(m, "", out);
  return out;
}

std::vector<std::string> freeze_backbone_batch_norm(Module& m, bool stats, bool affine) {
  std::vector<std::string> frozen;
  for (auto& [name, bn] : batch_norm_layers(m)) {
    if (is_head_parameter(name + ".")) continue;
    bn->freeze_stats = stats;
    bn->freeze_affine = affine;
    if (affine) {
      frozen.push_back(name + ".weight");
      frozen.push_back(name + ".bias");
    }
  }
  return frozen;
}

}  // namespace prism::nn
