// Tests of the nn layer [nn]: module naming and state, init determinism, layers' semantics, optimizers
// against hand-computed steps, the cosine schedule, and short trainings that must reduce a loss.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/nn/init.hpp"
#include "prism/nn/layers.hpp"
#include "prism/nn/models.hpp"
#include "prism/nn/optim.hpp"
#include "prism/nn/schedule.hpp"

using namespace prism;

namespace {

std::vector<float> random_vector(int64_t n, uint64_t sub, float lo = -1.0f, float hi = 1.0f) {
  Rng rng = Rng(7, RngStream::test).fork(sub);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

Tensor random_tensor(const Shape& shape, uint64_t sub) {
  return Tensor::from_vector(shape, random_vector(shape_numel(shape), sub));
}

// Index of the first differing element (bitwise), or -1.
int64_t first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return int64_t(i);
  return -1;
}

void require_same_bits(const Tensor& a, const Tensor& b, const std::string& what) {
  const auto va = a.to_vector(), vb = b.to_vector();
  const int64_t i = first_difference(va, vb);
  INFO(what << ": " << a.describe() << " vs " << b.describe() << ", first differing element " << i
            << (i >= 0 && size_t(i) < va.size()
                    ? ": " + std::to_string(va[i]) + " vs " + std::to_string(vb[i])
                    : ""));
  REQUIRE(i == -1);
}

std::vector<std::string> names_of(const nn::NamedTensors& list) {
  std::vector<std::string> out;
  for (auto& [n, t] : list) out.push_back(n);
  return out;
}

nn::ModelOptions mlp_options(int64_t in, std::vector<int64_t> hidden, int64_t embed, uint64_t seed = 0) {
  nn::ModelOptions o;
  o.in_features = in;
  o.hidden = std::move(hidden);
  o.embed_dim = embed;
  o.seed = seed;
  return o;
}

}  // namespace

// ---- modules: names, state, modes -------------------------------------------------------------------------

TEST_CASE("nn: fmnist-cnn parameter and buffer names, shapes and count", "[nn]") {
  auto net = nn::make_model("fmnist-cnn");
  const auto params = net->named_parameters();
  CHECK(names_of(params) == std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight",
                                                     "bn2.weight", "bn2.bias", "conv3.weight", "bn3.weight",
                                                     "bn3.bias", "fc.weight", "fc.bias"});
  CHECK(names_of(net->named_buffers()) == std::vector<std::string>{"bn1.running_mean", "bn1.running_var",
                                                                   "bn2.running_mean", "bn2.running_var",
                                                                   "bn3.running_mean", "bn3.running_var"});
  CHECK(params[0].second.shape() == Shape{32, 1, 3, 3});
  CHECK(params[3].second.shape() == Shape{64, 32, 3, 3});
  CHECK(params[6].second.shape() == Shape{128, 64, 3, 3});
  CHECK(params[9].second.shape() == Shape{64, 128});
  CHECK(params[10].second.shape() == Shape{64});
  CHECK(net->num_parameters() == 32 * 9 + 64 * 32 * 9 + 128 * 64 * 9 + 2 * (32 + 64 + 128) + 64 * 128 + 64);
  for (auto& [name, p] : params) {
    INFO(name);
    CHECK(p.requires_grad());
  }
  // Embedding: [N, d], unit rows.
  Tensor emb = (*net)(random_tensor({3, 1, 28, 28}, 1));
  REQUIRE(emb.shape() == Shape{3, 64});
  const auto e = emb.to_vector();
  for (int r = 0; r < 3; ++r) {
    double s = 0;
    for (int c = 0; c < 64; ++c) s += double(e[r * 64 + c]) * e[r * 64 + c];
    CHECK(s == Approx(1.0).epsilon(1e-5));
  }
}

TEST_CASE("nn: mlp names, Sequential index names, naming errors", "[nn]") {
  auto mlp = nn::make_model("mlp", mlp_options(10, {16, 8}, 4));
  CHECK(names_of(mlp->named_parameters()) ==
        std::vector<std::string>{"linear1.weight", "bn1.weight", "bn1.bias", "linear2.weight", "bn2.weight",
                                 "bn2.bias", "fc.weight", "fc.bias"});
  CHECK(mlp->named_parameters()[0].second.shape() == Shape{16, 10});
  CHECK(mlp->named_parameters()[6].second.shape() == Shape{4, 8});

  nn::Sequential seq;
  seq.add(std::make_shared<nn::Linear>(3, 2))
      .add(std::make_shared<nn::ReLU>())
      .add(std::make_shared<nn::Linear>(2, 2));
  CHECK(names_of(seq.named_parameters()) ==
        std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  CHECK_THROWS_WITH(seq.add("0", std::make_shared<nn::ReLU>()), Catch::Contains("'0' is used twice"));
  CHECK_THROWS_WITH(seq.add("a.b", std::make_shared<nn::ReLU>()), Catch::Contains("'a.b'"));

  CHECK_THROWS_WITH(nn::make_model("resnet"),
                    Catch::Contains("unknown model 'resnet'") && Catch::Contains("mlp"));
  CHECK_THROWS_WITH(nn::make_model("mlp"), Catch::Contains("in_features"));
  CHECK_THROWS_WITH(nn::make_model("mlp", mlp_options(4, {0}, 2)), Catch::Contains("hidden size 0"));
}

TEST_CASE("nn: train/eval reaches every descendant", "[nn]") {
  auto net = nn::make_model("fmnist-cnn");
  CHECK(net->is_training());
  net->eval();
  for (auto& [name, child] : net->children()) {
    INFO(name);
    CHECK_FALSE(child->is_training());
  }
  net->train();
  for (auto& [name, child] : net->children()) CHECK(child->is_training());
}

TEST_CASE("nn: state() / load_state() round trip, deep copies, strict names", "[nn]") {
  auto a = nn::make_model("mlp", mlp_options(6, {8}, 4, 1));
  auto b = nn::make_model("mlp", mlp_options(6, {8}, 4, 2));
  Tensor x = random_tensor({5, 6}, 2);
  (*a)(x);  // one training forward: running statistics move away from (0, 1)
  const nn::TensorMap saved = a->state();
  CHECK(saved.size() == a->named_parameters().size() + a->named_buffers().size());

  b->load_state(saved);
  for (auto& [name, t] : b->state()) require_same_bits(t, saved.at(name), "loaded '" + name + "'");
  a->eval();
  b->eval();
  {
    NoGradGuard no_grad;
    require_same_bits((*a)(x), (*b)(x), "eval outputs after load_state");
  }

  // state() is a copy: training a afterwards does not change it.
  a->train();
  nn::Adam opt(a->named_parameters(), {});
  sum((*a)(x)).backward();
  opt.step();
  for (auto& [name, t] : b->state())
    require_same_bits(t, saved.at(name), "saved '" + name + "' after training a");

  SECTION("missing, unexpected and misshapen entries are rejected, naming the key, and change nothing") {
    const nn::TensorMap before = b->state();
    nn::TensorMap bad = saved;
    bad.erase("bn1.running_var");
    CHECK_THROWS_WITH(b->load_state(bad), Catch::Contains("missing entry 'bn1.running_var'"));
    bad = saved;
    bad["bn1.num_batches_tracked"] = Tensor::zeros({1});
    CHECK_THROWS_WITH(b->load_state(bad), Catch::Contains("unexpected entry 'bn1.num_batches_tracked'"));
    bad = saved;
    bad["fc.weight"] = Tensor::zeros({8, 4});
    CHECK_THROWS_WITH(b->load_state(bad), Catch::Contains("'fc.weight'") && Catch::Contains("[8, 4]"));
    for (auto& [name, t] : b->state())
      require_same_bits(t, before.at(name), "'" + name + "' after a failed load");
  }
}

TEST_CASE("nn: zero_grad drops gradients, to(cpu) keeps handles", "[nn]") {
  auto net = nn::make_model("mlp", mlp_options(4, {}, 3));
  sum((*net)(random_tensor({2, 4}, 3))).backward();
  for (auto& p : net->parameters()) CHECK(p.grad().defined());
  net->zero_grad();
  for (auto& p : net->parameters()) CHECK_FALSE(p.grad().defined());
  Tensor w = net->named_parameters()[0].second;
  net->to(DeviceType::cpu);
  CHECK(net->device() == DeviceType::cpu);
  CHECK(w.same_storage(net->named_parameters()[0].second));
  if (!device_available(DeviceType::cuda)) {
    CHECK_THROWS_AS(net->to(DeviceType::cuda), Error);
    CHECK(net->device() == DeviceType::cpu);  // a failed move leaves the module where it was
  }
}

// ---- init -------------------------------------------------------------------------------------------------

TEST_CASE("nn: init is a pure function of (seed, parameter index), thread count independent", "[nn]") {
  auto a = nn::make_model("fmnist-cnn", {});
  nn::TensorMap two_threads;
  {
    ScopedThreads t(2);
    two_threads = nn::make_model("fmnist-cnn", {})->state();
  }
  {
    ScopedThreads t(1);
    for (auto& [name, v] : nn::make_model("fmnist-cnn", {})->state())
      require_same_bits(v, two_threads.at(name), "init of '" + name + "', 1 vs 2 threads");
  }
  for (auto& [name, v] : a->state())
    require_same_bits(v, two_threads.at(name), "init of '" + name + "', rerun");

  nn::ModelOptions other;
  other.seed = 1;
  CHECK(first_difference(nn::make_model("fmnist-cnn", other)->state().at("conv2.weight").to_vector(),
                         a->state().at("conv2.weight").to_vector()) >= 0);

  // The documented draw: parameter k, element i = (2·u_i − 1)·sqrt(6 / fan_in) with u from fork(k) of the
  // init stream.
  const auto params = a->named_parameters();
  for (size_t k : {size_t(0), size_t(6), size_t(9)}) {
    const Tensor& w = params[k].second;
    const auto v = w.to_vector();
    Rng rng = Rng(0, RngStream::init).fork(k);
    const double bound = std::sqrt(6.0 / double(nn::fan_in(w.shape())));
    for (int i = 0; i < 5; ++i) {
      INFO(params[k].first << " element " << i);
      CHECK(v[i] == Approx((2.0 * rng.uniform() - 1.0) * bound).epsilon(1e-6));
    }
  }
}

TEST_CASE("nn: Kaiming uniform statistics, zero biases, unit BN scales", "[nn]") {
  auto net = nn::make_model("fmnist-cnn", {});
  for (auto& [name, t] : net->state()) {
    INFO(name);
    const auto v = t.to_vector();
    if (name.find("conv") == 0 || name == "fc.weight") {
      const double b = std::sqrt(6.0 / double(nn::fan_in(t.shape())));
      double mean = 0, sq = 0, maxabs = 0;
      for (float x : v) mean += x, sq += double(x) * x, maxabs = std::max(maxabs, double(std::fabs(x)));
      mean /= v.size();
      sq /= v.size();
      CHECK(maxabs < b);
      CHECK(maxabs > 0.9 * b);
      // U(−b, b): mean 0, E x² = b²/3; sampling error over ≥ 288 draws is well inside these bounds.
      CHECK(std::fabs(mean) < 0.1 * b);
      CHECK(sq == Approx(b * b / 3).epsilon(0.2));
    } else if (name.find("running_var") != std::string::npos || name.rfind(".weight") == name.size() - 7) {
      for (float x : v) CHECK(x == 1.0f);
    } else {
      for (float x : v) CHECK(x == 0.0f);
    }
  }
}

// ---- layers -----------------------------------------------------------------------------------------------

TEST_CASE("nn: BatchNorm running statistics (unbiased variance, momentum 0.1) and eval forward", "[nn]") {
  const int64_t N = 5, C = 3;
  nn::BatchNorm bn(C);
  const auto xv = random_vector(N * C, 4, -2.0f, 3.0f);
  Tensor x = Tensor::from_vector({N, C}, xv);
  bn(x);
  const auto rm = bn.running_mean.to_vector(), rv = bn.running_var.to_vector();
  std::vector<double> mean(C), var(C);
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t n = 0; n < N; ++n) mean[c] += xv[n * C + c] / double(N);
    for (int64_t n = 0; n < N; ++n) var[c] += std::pow(xv[n * C + c] - mean[c], 2) / double(N - 1);
    INFO("channel " << c);
    CHECK(rm[c] == Approx(0.1 * mean[c]).epsilon(1e-5));
    CHECK(rv[c] == Approx(0.9 + 0.1 * var[c]).epsilon(1e-5));
  }

  bn.eval();
  bn.weight.copy_from(Tensor::from_vector({C}, {0.5f, 2.0f, -1.0f}));
  bn.bias.copy_from(Tensor::from_vector({C}, {0.1f, 0.0f, -0.3f}));
  const auto gamma = bn.weight.to_vector(), beta = bn.bias.to_vector();
  const auto y = bn(x).to_vector();  // no NoGradGuard needed: x needs no gradient
  for (int64_t i = 0; i < N * C; ++i) {
    const int64_t c = i % C;
    INFO("element " << i);
    CHECK(y[i] ==
          Approx(gamma[c] * (xv[i] - rm[c]) / std::sqrt(rv[c] + 1e-5) + beta[c]).epsilon(1e-5).margin(1e-6));
  }
  Tensor xg = x.clone().set_requires_grad(true);
  CHECK_THROWS_WITH(bn(xg), Catch::Contains("eval-mode batch norm"));
  NoGradGuard no_grad;
  CHECK_NOTHROW(bn(xg));
}

TEST_CASE("nn: layer input checks name the layer and the shape", "[nn]") {
  nn::Linear lin(4, 2);
  CHECK_THROWS_WITH(lin(Tensor::zeros({3, 5})), Catch::Contains("Linear(4→2)") && Catch::Contains("[3, 5]"));
  nn::Conv2d conv(3, 8, 3, 1, 1, false);
  CHECK_THROWS_WITH(conv(Tensor::zeros({1, 2, 5, 5})),
                    Catch::Contains("Conv2d(3→8") && Catch::Contains("[1, 2, 5, 5]"));
  nn::BatchNorm bn(4);
  CHECK_THROWS_WITH(bn(Tensor::zeros({2, 3})), Catch::Contains("BatchNorm(4"));
  CHECK_THROWS_WITH(nn::Linear(0, 2), Catch::Contains("in_features"));
}

// ---- optimizers -------------------------------------------------------------------------------------------

TEST_CASE("nn: SGD steps equal the hand-computed torch.optim.SGD update", "[nn]") {
  const Mode m = GENERATE(Mode::exact, Mode::fast);
  ScopedMode scoped(m);
  const bool nesterov = GENERATE(false, true);
  INFO("mode " << mode_name(m) << ", nesterov " << nesterov);
  const double lr = 0.1, mom = 0.9, damp = nesterov ? 0.0 : 0.25, wd = 0.01;
  const auto p0 = random_vector(7, 5), g1 = random_vector(7, 6), g2 = random_vector(7, 7);
  Tensor p = Tensor::from_vector({7}, p0).set_requires_grad(true);
  nn::Sgd opt({{"p", p}}, {lr, mom, damp, wd, nesterov});
  p.set_grad(Tensor::from_vector({7}, g1));
  opt.step();
  p.set_grad(Tensor::from_vector({7}, g2));
  opt.step();
  const auto got = p.to_vector();
  for (int i = 0; i < 7; ++i) {
    double w = p0[i];
    double d = g1[i] + wd * w, buf = d;  // first step: buffer = d
    w -= lr * (nesterov ? d + mom * buf : buf);
    d = g2[i] + wd * w;
    buf = mom * buf + (1 - damp) * d;
    w -= lr * (nesterov ? d + mom * buf : buf);
    INFO("element " << i);
    CHECK(got[i] == Approx(w).epsilon(1e-6).margin(1e-7));
  }
}

TEST_CASE("nn: Adam steps equal the hand-computed torch.optim.Adam update, state round trip", "[nn]") {
  const Mode m = GENERATE(Mode::exact, Mode::fast);
  ScopedMode scoped(m);
  INFO("mode " << mode_name(m));
  const nn::AdamOptions o{0.01, 0.9, 0.999, 1e-8, 0.05};
  const auto p0 = random_vector(9, 8), g1 = random_vector(9, 9), g2 = random_vector(9, 10);
  Tensor p = Tensor::from_vector({9}, p0).set_requires_grad(true);
  Tensor frozen = Tensor::from_vector({2}, {1.0f, 2.0f}).set_requires_grad(true);  // never gets a gradient
  nn::Adam opt({{"p", p}, {"frozen", frozen}}, o);
  p.set_grad(Tensor::from_vector({9}, g1));
  opt.step();
  p.set_grad(Tensor::from_vector({9}, g2));
  opt.step();
  const auto got = p.to_vector();
  for (int i = 0; i < 9; ++i) {
    double w = p0[i], mm = 0, vv = 0;
    const float gs[2] = {g1[i], g2[i]};
    for (int t = 1; t <= 2; ++t) {
      const double g = gs[t - 1] + o.weight_decay * w;
      mm = o.beta1 * mm + (1 - o.beta1) * g;
      vv = o.beta2 * vv + (1 - o.beta2) * g * g;
      const double denom = std::sqrt(vv) / std::sqrt(1 - std::pow(o.beta2, t)) + o.eps;
      w -= o.lr / (1 - std::pow(o.beta1, t)) * mm / denom;
    }
    INFO("element " << i);
    CHECK(got[i] == Approx(w).epsilon(1e-6).margin(1e-7));
  }
  CHECK(frozen.to_vector() == std::vector<float>{1.0f, 2.0f});
  CHECK(opt.steps_of(0) == 2);
  CHECK(opt.steps_of(1) == 0);

  // Resume: a fresh optimizer loaded from the state continues bit-identically.
  const nn::OptimizerState st = opt.state();
  CHECK(st.scalars.at("frozen.step") == 0.0);
  CHECK(st.tensors.count("frozen.exp_avg") == 0);
  Tensor q = p.clone().set_requires_grad(true);
  nn::Adam resumed({{"p", q}, {"frozen", frozen}}, o);
  resumed.load_state(st);
  const Tensor g3 = random_tensor({9}, 11);
  p.set_grad(g3);
  q.set_grad(g3);
  opt.step();
  resumed.step();
  require_same_bits(p, q, "Adam step after load_state vs uninterrupted");

  nn::OptimizerState bad = st;
  bad.tensors["p.exp_avg"] = Tensor::zeros({3});
  CHECK_THROWS_WITH(resumed.load_state(bad), Catch::Contains("'p.exp_avg'"));
  bad = st;
  bad.scalars["q.step"] = 1;
  CHECK_THROWS_WITH(resumed.load_state(bad), Catch::Contains("unexpected scalar 'q.step'"));
  bad = st;
  bad.scalars.erase("p.step");
  CHECK_THROWS_WITH(resumed.load_state(bad), Catch::Contains("missing scalar 'p.step'"));
}

TEST_CASE("nn: optimizer option checks", "[nn]") {
  Tensor p = Tensor::zeros({2}).set_requires_grad(true);
  CHECK_THROWS_WITH(nn::Sgd({{"p", p}}, {0.1, 0.0, 0.0, 0.0, true}), Catch::Contains("nesterov"));
  CHECK_THROWS_WITH(nn::Adam({{"p", p}}, {0.1, 1.0, 0.999, 1e-8, 0.0}), Catch::Contains("betas"));
  CHECK_THROWS_WITH(nn::Adam({}, {}), Catch::Contains("no parameters"));
  nn::Adam opt({{"p", p}}, {});
  CHECK_THROWS_WITH(opt.set_lr(-1.0), Catch::Contains("lr"));
  p.set_grad(Tensor::zeros({3}));
  CHECK_THROWS_WITH(opt.step(), Catch::Contains("gradient of 'p'"));
}

// ---- schedule ---------------------------------------------------------------------------------------------

TEST_CASE("nn: cosine schedule with warm-up", "[nn]") {
  nn::CosineSchedule s;
  s.base_lr = 0.1;
  s.eta_min = 0.001;
  s.total_iters = 100;
  CHECK(s.lr_at(0) == 0.1);
  CHECK(s.lr_at(50) == Approx((0.1 + 0.001) / 2).epsilon(1e-12));
  CHECK(s.lr_at(100) == Approx(0.001).epsilon(1e-12));
  CHECK(s.lr_at(25) == Approx(0.001 + 0.099 * (1 + std::cos(M_PI / 4)) / 2).epsilon(1e-12));
  for (int64_t it = 1; it <= 100; ++it) CHECK(s.lr_at(it) < s.lr_at(it - 1));

  s.warmup_iters = 10;
  CHECK(s.lr_at(0) == Approx(0.1 / 11).epsilon(1e-12));
  CHECK(s.lr_at(9) == Approx(0.1 * 10 / 11).epsilon(1e-12));
  CHECK(s.lr_at(10) == 0.1);
  for (int64_t it = 1; it <= 10; ++it) CHECK(s.lr_at(it) > s.lr_at(it - 1));
  CHECK(s.lr_at(55) ==
        Approx((0.1 + 0.001) / 2).epsilon(1e-12));  // half-way through the 90 cosine iterations
  CHECK(s.lr_at(100) == Approx(0.001).epsilon(1e-12));

  s.total_iters = 10;
  CHECK_THROWS_WITH(s.lr_at(0), Catch::Contains("total_iters"));
  s.total_iters = 100;
  CHECK_THROWS_WITH(s.lr_at(-1), Catch::Contains("iteration"));
}

// ---- training ---------------------------------------------------------------------------------------------

TEST_CASE("nn: a few optimizer steps on a tiny mlp reduce the loss", "[nn]") {
  const Mode m = GENERATE(Mode::exact, Mode::fast);
  const std::string which = GENERATE(as<std::string>{}, "adam", "sgd");
  ScopedMode scoped(m);
  INFO("mode " << mode_name(m) << ", optimizer " << which);
  auto net = nn::make_model("mlp", mlp_options(8, {16}, 4, 3));
  const Tensor x = random_tensor({32, 8}, 12);
  const Tensor target = nn::L2Normalize()(random_tensor({32, 4}, 13));  // unit rows to pull the embeddings to
  std::unique_ptr<nn::Optimizer> opt;
  if (which == "adam")
    opt = std::make_unique<nn::Adam>(net->named_parameters(), nn::AdamOptions{0.01, 0.9, 0.999, 1e-8, 1e-4});
  else
    opt = std::make_unique<nn::Sgd>(net->named_parameters(), nn::SgdOptions{0.5, 0.9, 0.0, 1e-4, true});
  std::vector<float> losses;
  for (int step = 0; step < 30; ++step) {
    opt->zero_grad();
    Tensor loss = mean(square(sub((*net)(x), target)));
    loss.backward();
    losses.push_back(loss.item());
    opt->step();
  }
  INFO("loss first " << losses.front() << ", last " << losses.back());
  CHECK(std::isfinite(losses.back()));
  CHECK(losses.back() < 0.5f * losses.front());
}

TEST_CASE("nn: exact mode training steps of fmnist-cnn are bit-identical with 1 and 2 threads", "[nn]") {
  ScopedMode exact(Mode::exact);
  auto run = [](int threads) {
    ScopedThreads t(threads);
    auto net = nn::make_model("fmnist-cnn", {});
    nn::Adam opt(net->named_parameters(), {});
    const Tensor x = random_tensor({4, 1, 28, 28}, 14), R = random_tensor({4, 64}, 15);
    for (int step = 0; step < 2; ++step) {
      opt.zero_grad();
      sum(mul((*net)(x), R)).backward();
      opt.step();
    }
    return net->state();
  };
  const nn::TensorMap one = run(1), two = run(2);
  for (auto& [name, t] : one)
    require_same_bits(t, two.at(name), "'" + name + "' after 2 steps, 1 vs 2 threads");
}
