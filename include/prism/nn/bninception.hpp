// BN-Inception (Inception v2 with batch norm, Ioffe & Szegedy 2015), the official PRISM/XBM backbone, with the
// architecture and the flat parameter names of the widely used PyTorch port (Cadene's pretrainedmodels
// `bninception`): conv1_7x7_s2, conv1_7x7_s2_bn, …, inception_5b_pool_proj_bn (reference wiring of core ops).
// Every conv has a bias and is followed by batch norm and ReLU; the max pools round up (ceil_mode); global
// average pool → fc (MODEL.HEAD.DIM) → L2 normalise. A converted `.pth` maps one to one (its 1000-class
// `last_linear` is dropped on import).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "prism/nn/layers.hpp"
#include "prism/nn/module.hpp"

namespace prism::nn {

// One inception block's widths. c1x1 = 0 and pool_proj = 0 mark the two grid-reduction blocks (3c, 4e):
// their 3×3 convs have stride 2 and the pool branch is a 3×3/2 max pool passed through without projection.
struct InceptionSpec {
  const char* name;  // "3a" … "5b"
  int64_t in, c1x1, c3x3_reduce, c3x3, double_reduce, double_3x3, pool_proj;
  bool max_pool;  // pool branch: max pool (3c, 4e: 3×3/2; 5b: 3×3/1 pad 1) instead of 3×3/1 pad 1 average
};

class BNInception : public Module {
 public:
  BNInception(int64_t in_channels, int64_t embed_dim);
  Tensor forward(const Tensor& x) override;  // [N, C, H, W] → [N, embed_dim], unit rows
  // The backbone alone: [N, C, H, W] → [N, 1024] global-average-pool output, before the head.
  Tensor features(const Tensor& x);
  int64_t feature_dim() const { return 1024; }
  std::string repr() const override;
  static const std::vector<InceptionSpec>& blocks();  // the ten blocks, 3a … 5b

 private:
  struct Unit {  // <name> conv (bias) → <name>_bn → ReLU
    std::shared_ptr<Conv2d> conv;
    std::shared_ptr<BatchNorm> bn;
  };
  Unit unit(const std::string& name, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad);
  Tensor run(Unit& u, const Tensor& x);
  Tensor block(size_t b, const Tensor& x);
  Unit conv1_, conv2_reduce_, conv2_;
  struct Block {
    Unit c1x1, c3x3_reduce, c3x3, double_reduce, double_1, double_2, pool_proj;  // conv null when absent
  };
  std::vector<Block> blocks_;
  std::shared_ptr<Linear> fc_;
};

}  // namespace prism::nn
