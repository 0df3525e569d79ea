// ResNet-18/34/50 embedders with torchvision's architecture and parameter names (reference wiring of core
// ops): conv1 7×7/2 → bn1 → relu → maxpool 3×3/2 pad 1 → layer1..layer4 of BasicBlocks (18, 34) or
// Bottlenecks (50, stride on the 3×3 as torchvision ≥ 0.4, "ResNet v1.5") → global average pool → fc (the
// linear head, MODEL.HEAD.DIM) → L2 normalise. Names: conv1.weight, bn1.running_mean,
// layer2.0.downsample.0.weight, fc.bias, … — a torchvision state_dict maps one to one (minus its 1000-class fc).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "prism/nn/layers.hpp"
#include "prism/nn/module.hpp"

namespace prism::nn {

// torchvision.models.resnet.BasicBlock: conv1 3×3/stride → bn1 → relu → conv2 3×3 → bn2, + identity
// (or downsample = 1×1/stride conv + bn), → relu.
class BasicBlock : public Module {
 public:
  static constexpr int64_t expansion = 1;
  BasicBlock(int64_t in_planes, int64_t planes, int64_t stride);
  Tensor forward(const Tensor& x) override;
  std::string repr() const override;
  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm> bn1, bn2;
  std::shared_ptr<Sequential> downsample;  // null when the shapes already agree
};

// torchvision.models.resnet.Bottleneck (v1.5): conv1 1×1 → bn1 → relu → conv2 3×3/stride → bn2 → relu →
// conv3 1×1 (planes·4) → bn3, + identity (or downsample), → relu.
class Bottleneck : public Module {
 public:
  static constexpr int64_t expansion = 4;
  Bottleneck(int64_t in_planes, int64_t planes, int64_t stride);
  Tensor forward(const Tensor& x) override;
  std::string repr() const override;
  std::shared_ptr<Conv2d> conv1, conv2, conv3;
  std::shared_ptr<BatchNorm> bn1, bn2, bn3;
  std::shared_ptr<Sequential> downsample;
};

class ResNet : public Module {
 public:
  // depth 18, 34 or 50; in_channels of the input images (3 for RGB); embed_dim of the head.
  ResNet(int depth, int64_t in_channels, int64_t embed_dim);
  Tensor forward(const Tensor& x) override;  // [N, C, H, W] → [N, embed_dim], unit rows
  // The backbone alone: [N, C, H, W] → [N, feature_dim()] global-average-pool output, before the head.
  Tensor features(const Tensor& x);
  int64_t feature_dim() const { return feature_dim_; }
  std::string repr() const override;
  const int depth;

 private:
  int64_t feature_dim_ = 0;
  std::shared_ptr<Conv2d> conv1_;
  std::shared_ptr<BatchNorm> bn1_;
  std::shared_ptr<MaxPool2d> maxpool_;
  std::vector<std::shared_ptr<Sequential>> layers_;
  std::shared_ptr<Linear> fc_;
};

// The backbone output of any embedder that has one, before its head: ResNet::features, or for a Sequential
// net (fmnist-cnn, mlp) every child before "fc". Throws naming the model when it has neither.
Tensor embedder_features(Module& model, const Tensor& x);

// Names of the head's parameters (the "fc." prefix in every embedder); the rest is the backbone.
bool is_head_parameter(const std::string& name);

// Every BatchNorm in the tree, depth first, with its dotted name ("layer1.0.bn1").
std::vector<std::pair<std::string, BatchNorm*>> batch_norm_layers(Module& m);

// Fine-tuning: sets freeze_stats / freeze_affine on every batch norm of the backbone (outside "fc.") and
// returns the names of the parameters that must then stay out of the optimizer (their weight and bias when
// `affine`).
std::vector<std::string> freeze_backbone_batch_norm(Module& m, bool stats, bool affine);

}  // namespace prism::nn
