// BN-Inception (reference wiring of core ops; the layout and names of bninception.hpp).
#include "prism/nn/bninception.hpp"

#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"

namespace prism::nn {

const std::vector<InceptionSpec>& BNInception::blocks() {
  // name, in, 1x1, 3x3_reduce, 3x3, double_3x3_reduce, double_3x3, pool_proj, max pool
  static const std::vector<InceptionSpec> specs = {
      {"3a", 192, 64, 64, 64, 64, 96, 32, false},        {"3b", 256, 64, 64, 96, 64, 96, 64, false},
      {"3c", 320, 0, 128, 160, 64, 96, 0, true},         {"4a", 576, 224, 64, 96, 96, 128, 128, false},
      {"4b", 576, 192, 96, 128, 96, 128, 128, false},    {"4c", 576, 160, 128, 160, 128, 160, 128, false},
      {"4d", 608, 96, 128, 192, 160, 192, 128, false},   {"4e", 608, 0, 128, 192, 192, 256, 0, true},
      {"5a", 1056, 352, 192, 320, 160, 224, 128, false}, {"5b", 1024, 352, 192, 320, 192, 224, 128, true},
  };
  return specs;
}

BNInception::Unit BNInception::unit(const std::string& name, int64_t in, int64_t out, int64_t kernel,
                                    int64_t stride, int64_t pad) {
  Unit u;
  u.conv = register_module(name, std::make_shared<Conv2d>(in, out, kernel, stride, pad, true));
  u.bn = register_module(name + "_bn", std::make_shared<BatchNorm>(out));
  return u;
}

Tensor BNInception::run(Unit& u, const Tensor& x) {
  return relu(u.bn->forward(u.conv->forward(x)));
}

BNInception::BNInception(int64_t in_channels, int64_t embed_dim) {
  if (in_channels <= 0)
    throw Error("BNInception: in_channels must be positive, got " + std::to_string(in_channels));
  // Registration order = the port's definition order, so parameters enumerate as its named_parameters().
  conv1_ = unit("conv1_7x7_s2", in_channels, 64, 7, 2, 3);
  conv2_reduce_ = unit("conv2_3x3_reduce", 64, 64, 1, 1, 0);
  conv2_ = unit("conv2_3x3", 64, 192, 3, 1, 1);
  for (const InceptionSpec& s : blocks()) {
    const std::string p = std::string("inception_") + s.name + "_";
    const bool reduction = s.pool_proj == 0;  // 3c, 4e
    const int64_t stride = reduction ? 2 : 1;
    Block b;
    if (s.c1x1 > 0) b.c1x1 = unit(p + "1x1", s.in, s.c1x1, 1, 1, 0);
    b.c3x3_reduce = unit(p + "3x3_reduce", s.in, s.c3x3_reduce, 1, 1, 0);
    b.c3x3 = unit(p + "3x3", s.c3x3_reduce, s.c3x3, 3, stride, 1);
    b.double_reduce = unit(p + "double_3x3_reduce", s.in, s.double_reduce, 1, 1, 0);
    b.double_1 = unit(p + "double_3x3_1", s.double_reduce, s.double_3x3, 3, 1, 1);
    b.double_2 = unit(p + "double_3x3_2", s.double_3x3, s.double_3x3, 3, stride, 1);
    if (s.pool_proj > 0) b.pool_proj = unit(p + "pool_proj", s.in, s.pool_proj, 1, 1, 0);
    blocks_.push_back(b);
  }
  fc_ = register_module("fc", std::make_shared<Linear>(feature_dim(), embed_dim));
}

Tensor BNInception::block(size_t i, const Tensor& x) {
  const InceptionSpec& s = blocks()[i];
  Block& b = blocks_[i];
  std::vector<Tensor> branches;
  if (b.c1x1.conv) branches.push_back(run(b.c1x1, x));
  branches.push_back(run(b.c3x3, run(b.c3x3_reduce, x)));
  branches.push_back(run(b.double_2, run(b.double_1, run(b.double_reduce, x))));
  Tensor pooled;
  if (!s.max_pool)
    pooled = avg_pool2d(x, 3, 1, 1, true);
  else if (s.pool_proj == 0)
    pooled = max_pool2d(x, 3, 2, 0, true);  // 3c, 4e: the grid reduction
  else
    pooled = max_pool2d(x, 3, 1, 1, true);  // 5b
  branches.push_back(b.pool_proj.conv ? run(b.pool_proj, pooled) : pooled);
  return concat_channels(branches);
}

Tensor BNInception::features(const Tensor& x) {
  if (x.dim() != 4) throw Error(repr() + ": input must be [N, C, H, W], got " + x.describe());
  Tensor h = max_pool2d(run(conv1_, x), 3, 2, 0, true);
  h = max_pool2d(run(conv2_, run(conv2_reduce_, h)), 3, 2, 0, true);
  for (size_t i = 0; i < blocks_.size(); ++i) h = block(i, h);
  return global_avg_pool(h);
}

Tensor BNInception::forward(const Tensor& x) {
  return l2_normalize(fc_->forward(features(x)));
}

std::string BNInception::repr() const {
  return "BNInception(features 1024 → fc " + std::to_string(fc_->out_features) + " → L2)";
}

}  // namespace prism::nn
