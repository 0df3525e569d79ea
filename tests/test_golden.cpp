// Golden test against PyTorch [golden]: fmnist-cnn forward, BN running statistics, gradients, 3 Adam steps
// and an eval forward, plus the optimizers and the cosine schedule, compared with what
// tests/reference/make_golden.py recorded from torch 1.13 in tests/data/golden_fmnist.bin. Runs in both modes
// (exact and fast).
//
// File format (little-endian; the script's docstring is the full description):
//   "PRISMGLD" (8 bytes), u32 version = 1, u32 count, then per tensor: u32 name length, name bytes,
//   u32 dtype (0 f32, 1 i32, 2 f64), u32 ndim, ndim × i64 dims, the elements row-major.
//
// Relative error of a tensor a (ours) against b (torch): max_i |a_i − b_i| / max(max_i |b_i|, 1e-30).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "prism/core/autograd.hpp"
#include "prism/core/io.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"
#include "prism/nn/models.hpp"
#include "prism/nn/optim.hpp"
#include "prism/nn/schedule.hpp"

using namespace prism;

namespace {

// ---- the golden file reader -------------------------------------------------------------------------------

struct GoldenTensor {
  uint32_t dtype = 0;  // 0 f32, 1 i32, 2 f64
  Shape shape;
  std::vector<float> f32;
  std::vector<double> f64;
};

class GoldenFile {
 public:
  explicit GoldenFile(const std::string& path) : path_(path) {
    const std::string bytes = read_file(path);
    size_t pos = 0;
    auto take = [&](void* dst, size_t n, const char* what) {
      if (n > bytes.size() - pos) throw Error(path + ": truncated while reading " + what);
      std::memcpy(dst, bytes.data() + pos, n);
      pos += n;
    };
    char magic[8];
    take(magic, 8, "the magic");
    if (std::memcmp(magic, "PRISMGLD", 8) != 0) throw Error(path + ": not a prism golden file (bad magic)");
    uint32_t version = 0, count = 0;
    take(&version, 4, "the version");
    if (version != 1) throw Error(path + ": unsupported version " + std::to_string(version));
    take(&count, 4, "the tensor count");
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t len = 0, ndim = 0;
      take(&len, 4, "a name length");
      if (len > 4096)
        throw Error(path + ": name length " + std::to_string(len) + " of tensor " + std::to_string(i));
      std::string name(len, '\0');
      take(name.data(), len, "a name");
      GoldenTensor t;
      take(&t.dtype, 4, "a dtype");
      take(&ndim, 4, "a rank");
      if (t.dtype > 2 || ndim > 8) throw Error(path + ": tensor '" + name + "' has a bad dtype or rank");
      t.shape.resize(ndim);
      for (auto& d : t.shape) {
        take(&d, 8, "a dimension");
        if (d < 0 || d > (int64_t(1) << 28))
          throw Error(path + ": tensor '" + name + "' has a bad dimension");
      }
      const int64_t n = shape_numel(t.shape);
      if (t.dtype == 2) {
        t.f64.resize(n);
        take(t.f64.data(), n * 8, name.c_str());
      } else {
        if (t.dtype != 0) throw Error(path + ": tensor '" + name + "' is int32, no test reads one");
        t.f32.resize(n);
        take(t.f32.data(), n * 4, name.c_str());
      }
      tensors_[name] = std::move(t);
    }
    if (pos != bytes.size())
      throw Error(path + ": " + std::to_string(bytes.size() - pos) + " trailing bytes");
  }

  const GoldenTensor& at(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw Error(path_ + ": no tensor '" + name + "'");
    return it->second;
  }
  Tensor tensor(const std::string& name) const {
    const GoldenTensor& g = at(name);
    if (g.dtype != 0) throw Error(path_ + ": tensor '" + name + "' is not float32");
    return Tensor::from_vector(g.shape, g.f32);
  }
  double scalar(const std::string& name) const { return at(name).f64.at(0); }
  std::vector<std::string> names_with_prefix(const std::string& prefix) const {
    std::vector<std::string> out;
    for (auto& [name, t] : tensors_)
      if (name.rfind(prefix, 0) == 0) out.push_back(name);
    return out;
  }

 private:
  std::string path_;
  std::map<std::string, GoldenTensor> tensors_;
};

const GoldenFile& golden() {
  static const GoldenFile file(std::string(PRISM_TEST_DATA_DIR) + "/golden_fmnist.bin");
  return file;
}

// ---- comparison -------------------------------------------------------------------------------------------

struct Comparison {
  double rel = 0.0;
  int64_t worst = -1;
  double got = 0.0, want = 0.0;
};

Comparison compare(const std::vector<float>& got, const std::vector<float>& want) {
  Comparison c;
  double max_abs_diff = -1.0, max_ref = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = std::fabs(double(got[i]) - double(want[i]));
    max_ref = std::max(max_ref, std::fabs(double(want[i])));
    if (!(d <= max_abs_diff)) {  // also catches NaN
      max_abs_diff = d;
      c.worst = int64_t(i);
      c.got = got[i];
      c.want = want[i];
    }
  }
  c.rel = std::isnan(max_abs_diff) ? INFINITY : max_abs_diff / std::max(max_ref, 1e-30);
  return c;
}

bool verbose() {
  return std::getenv("PRISM_TEST_VERBOSE") != nullptr;
}

// Checks `got` against golden tensor `name`; returns the relative error for the summary.
double check_against(const std::string& name, const Tensor& got, double tolerance) {
  const GoldenTensor& want = golden().at(name);
  INFO("golden tensor '" << name << "' (mode " << mode_name(mode()) << "), ours " << got.describe());
  REQUIRE(got.shape() == want.shape);
  const Comparison c = compare(got.to_vector(), want.f32);
  INFO("relative error " << c.rel << " (tolerance " << tolerance << "); worst element " << c.worst
                         << ": ours " << c.got << ", torch " << c.want);
  CHECK(c.rel <= tolerance);
  if (verbose())
    std::printf("  %-34s %s %s rel %.3e\n", name.c_str(), device_name(got.device()), mode_name(mode()),
                c.rel);
  return c.rel;
}

constexpr double kGoldenTolerance = 1e-4;  // the bound, for both modes

}  // namespace

TEST_CASE("golden: fmnist-cnn forward, BN statistics, gradients and 3 Adam steps match PyTorch",
          "[golden][nn]") {
  const GoldenFile& g = golden();
  const Mode m = GENERATE(Mode::exact, Mode::fast);
  ScopedMode scoped(m);
  INFO("mode " << mode_name(m));

  nn::ModelOptions opts;
  opts.embed_dim = g.at("loss_weights").shape.at(1);
  auto net = nn::make_model("fmnist-cnn", opts);
  REQUIRE(g.scalar("config.bn_momentum") == Approx(0.1));  // the defaults make_model builds with
  REQUIRE(g.scalar("config.bn_eps") == Approx(1e-5));

  // Same weights: every parameter and buffer by its (shared) name; load_state rejects missing or extra names.
  nn::TensorMap init;
  for (const std::string& key : g.names_with_prefix("init.")) init[key.substr(5)] = g.tensor(key);
  net->load_state(init);
  // PRISM_DEVICE=cuda runs the same comparison on the GPU backend.
  const DeviceType dev = default_device();
  net->to(dev);
  INFO("device " << device_name(dev));

  const Tensor x = g.tensor("input").to(dev), R = g.tensor("loss_weights").to(dev);
  nn::AdamOptions ao;
  ao.lr = g.scalar("config.lr");
  ao.beta1 = g.scalar("config.beta1");
  ao.beta2 = g.scalar("config.beta2");
  ao.eps = g.scalar("config.eps");
  ao.weight_decay = g.scalar("config.weight_decay");
  nn::Adam opt(net->named_parameters(), ao);
  const int steps = int(g.scalar("config.steps"));

  double worst = 0.0;
  std::vector<float> losses;
  net->train();
  for (int step = 0; step < steps; ++step) {
    opt.zero_grad();
    Tensor emb = (*net)(x);
    Tensor loss = sum(mul(emb, R));
    loss.backward();
    losses.push_back(loss.item());
    if (step == 0) {
      worst = std::max(worst, check_against("forward.embedding", emb, kGoldenTolerance));
      for (auto& [name, t] : net->named_buffers())
        worst = std::max(worst, check_against("forward." + name, t, kGoldenTolerance));
      for (auto& [name, p] : net->named_parameters()) {
        INFO("parameter " << name);
        REQUIRE(p.grad().defined());
        worst = std::max(worst, check_against("grad." + name, p.grad(), kGoldenTolerance));
      }
    }
    opt.step();
  }
  worst = std::max(worst, check_against("adam.loss", Tensor::from_vector({steps}, losses), kGoldenTolerance));
  for (auto& [name, t] : net->state())
    worst = std::max(worst, check_against("adam." + name, t, kGoldenTolerance));

  net->eval();
  {
    NoGradGuard no_grad;
    worst = std::max(worst, check_against("eval.embedding", (*net)(x), kGoldenTolerance));
  }
  if (verbose())
    std::printf("golden fmnist-cnn, %s, mode %s: worst relative error %.3e\n", device_name(dev), mode_name(m),
                worst);
}

TEST_CASE("golden: SGD and Adam match torch.optim from identical gradients", "[golden][nn]") {
  // Same inputs on both sides, so only the update arithmetic differs: a few float32 roundings per element.
  constexpr double kTolerance = 1e-6;
  const GoldenFile& g = golden();
  const Mode m = GENERATE(Mode::exact, Mode::fast);
  ScopedMode scoped(m);
  const std::string which = GENERATE(as<std::string>{}, "adam", "sgd_nesterov", "sgd_dampening");
  INFO("optimizer case " << which << ", mode " << mode_name(m));
  const std::vector<double>& cfg = g.at("optim." + which + ".config").f64;
  REQUIRE(cfg.size() == 5);

  const DeviceType dev = default_device();
  Tensor p = g.tensor("optim.param0").to(dev).set_requires_grad(true);
  nn::NamedTensors params{{"p", p}};
  std::unique_ptr<nn::Optimizer> opt;
  if (which == "adam") {
    opt = std::make_unique<nn::Adam>(params, nn::AdamOptions{cfg[0], cfg[1], cfg[2], cfg[3], cfg[4]});
  } else {
    opt = std::make_unique<nn::Sgd>(params, nn::SgdOptions{cfg[0], cfg[1], cfg[2], cfg[4], cfg[3] != 0.0});
  }
  for (int step = 1; step <= 3; ++step) {
    p.set_grad(g.tensor("optim.grad" + std::to_string(step)).to(dev));
    opt->step();
  }
  check_against("optim." + which + ".param3", p, kTolerance);
  const nn::OptimizerState st = opt->state();
  if (which == "adam") {
    check_against("optim.adam.exp_avg", st.tensors.at("p.exp_avg"), kTolerance);
    check_against("optim.adam.exp_avg_sq", st.tensors.at("p.exp_avg_sq"), kTolerance);
    CHECK(st.scalars.at("p.step") == 3.0);
  } else {
    check_against("optim." + which + ".momentum_buffer", st.tensors.at("p.momentum_buffer"), kTolerance);
  }
}

TEST_CASE("golden: cosine schedule matches torch CosineAnnealingLR", "[golden][nn]") {
  const GoldenFile& g = golden();
  const std::vector<double>& cfg = g.at("cosine.config").f64;
  const std::vector<double>& want = g.at("cosine.lr").f64;
  nn::CosineSchedule s;
  s.base_lr = cfg.at(0);
  s.eta_min = cfg.at(1);
  s.total_iters = int64_t(cfg.at(2));
  for (size_t it = 0; it < want.size(); ++it) {
    INFO("iteration " << it << " (T_max " << s.total_iters << "): ours " << s.lr_at(int64_t(it)) << ", torch "
                      << want[it]);
    // torch steps a recursion, we evaluate the closed form: equal up to double round-off.
    CHECK(std::fabs(s.lr_at(int64_t(it)) - want[it]) <= 1e-12 * s.base_lr);
  }
}
