// Tests of the core/backend layering: the registry forwarding mode and threads; the launch emulator in the
// cuda slot (nn ops, fmnist-cnn steps, the trainer) bit for bit against the CPU; Backend::supports() enforced
// by the op dispatch; row views and the core row gathers the memory bank uses.
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "dml_test_util.hpp"
#include "prism/core/autograd.hpp"
#include "prism/core/io.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/dml/contrastive.hpp"
#include "prism/dml/memory_bank.hpp"
#include "prism/nn/models.hpp"
#include "prism/nn/optim.hpp"
#include "prism/train/trainer.hpp"
#include "reference_backend.hpp"
#include "train_test_util.hpp"

using namespace prism;

namespace {

// The emulator in the cuda slot for one scope; the slot goes back to what it was.
struct ScopedCudaEmulator {
  ScopedCudaEmulator() : saved_(cuda_emulated()) { use_cuda_emulator(true); }
  ~ScopedCudaEmulator() { use_cuda_emulator(saved_); }
  ScopedCudaEmulator(const ScopedCudaEmulator&) = delete;
  ScopedCudaEmulator& operator=(const ScopedCudaEmulator&) = delete;

 private:
  bool saved_;
};

std::vector<float> random_values(int64_t n, uint64_t seed) {
  Rng rng(seed, RngStream::test);
  std::vector<float> v(n);
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

// Everything one pass of a small conv net computes, on `device`: the loss, the embedding and every gradient.
std::vector<std::vector<float>> conv_net_pass(DeviceType device) {
  Tensor x = Tensor::from_vector({4, 2, 9, 9}, random_values(4 * 2 * 81, 1), device).set_requires_grad();
  Tensor w = Tensor::from_vector({5, 2, 3, 3}, random_values(5 * 18, 2), device).set_requires_grad();
  Tensor b = Tensor::from_vector({5}, random_values(5, 3), device).set_requires_grad();
  Tensor gamma = Tensor::full({5}, 1.25f, device).set_requires_grad();
  Tensor beta = Tensor::from_vector({5}, random_values(5, 4), device).set_requires_grad();
  Tensor running_mean = Tensor::zeros({5}, DType::f32, device), running_var = Tensor::full({5}, 1.0f, device);
  Tensor fc = Tensor::from_vector({6, 5 * 4 * 4}, random_values(6 * 80, 5), device).set_requires_grad();
  Tensor h = conv2d(x, w, b, 1, 1);
  h = relu(batch_norm(h, gamma, beta, running_mean, running_var, true, 0.1f, 1e-5f));
  h = max_pool2d(h, 2, 2);
  Tensor emb = l2_normalize(linear(h.reshape({4, 80}), fc, Tensor()));
  Tensor loss = mean(square(sub(gram(emb), exp(scale(gram(emb), 0.5f)))));
  loss.backward();
  std::vector<std::vector<float>> out = {loss.to_vector(), emb.to_vector(), running_mean.to_vector(),
                                         running_var.to_vector()};
  for (const Tensor* t : {&x, &w, &b, &gamma, &beta, &fc}) out.push_back(t->grad().to_vector());
  return out;
}

// One training step of the trainer's shape on `device`: fmnist-cnn forward, batch + memory contrastive loss,
// backward, SGD with momentum, enqueue into the memory. Returns the loss and the parameters after the step.
struct TrainStep {
  std::shared_ptr<nn::Module> model;
  std::unique_ptr<nn::Sgd> sgd;
  std::unique_ptr<dml::MemoryBank> bank;
  DeviceType device;
  int64_t batch, side;

  TrainStep(DeviceType d, int64_t batch_size, int64_t image_side)
      : device(d), batch(batch_size), side(image_side) {
    nn::ModelOptions mo;
    mo.embed_dim = 32;
    mo.seed = 7;
    model = nn::make_model("fmnist-cnn", mo);
    model->to(device);
    nn::SgdOptions so;
    so.lr = 0.05;
    so.momentum = 0.9;
    sgd = std::make_unique<nn::Sgd>(model->named_parameters(), so);
    bank = std::make_unique<dml::MemoryBank>(4 * batch, mo.embed_dim, 10, device);
  }

  float run(uint64_t seed) {
    const std::vector<int32_t> labels = dmltest::random_labels(batch, 10, seed);
    Tensor x = Tensor::from_vector({batch, 1, side, side}, random_values(batch * side * side, seed), device);
    Tensor emb = model->forward(x);
    const Tensor labels_t = dml::label_tensor(labels, device);
    const Tensor keep_t = dml::mask_tensor(std::vector<uint8_t>(batch, 1), device);
    Tensor loss = dml::batch_contrastive_loss(emb, labels_t, keep_t);
    if (!bank->empty())
      loss = add(loss, dml::memory_contrastive_loss(emb, labels_t, keep_t, bank->embeddings(),
                                                    bank->labels_device()));
    sgd->zero_grad();
    loss.backward();
    sgd->step();
    bank->enqueue(emb.detach(), labels, {});
    return loss.item();
  }

  std::vector<std::vector<float>> parameters() const {
    std::vector<std::vector<float>> out;
    for (const auto& [name, p] : model->named_parameters()) out.push_back(p.to_vector());
    out.push_back(bank->centers_recomputed().to_vector());
    return out;
  }
};

void require_same_bits(const std::vector<std::vector<float>>& got,
                       const std::vector<std::vector<float>>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); ++k) REQUIRE_BITWISE_EQUAL("output " << k, got[k], want[k]);
}

}  // namespace

TEST_CASE("set_mode and set_num_threads reach every backend of the registry", "[registry]") {
  Backend& cpu = backend(DeviceType::cpu);
  {
    ScopedMode fast(Mode::fast);
    CHECK(cpu.mode() == Mode::fast);
    ScopedThreads one(1);
    CHECK(cpu.num_threads() == 1);
    {
      ScopedThreads two(2);
      CHECK(cpu.num_threads() == 2);
    }
    CHECK(cpu.num_threads() == 1);
  }
  CHECK(cpu.mode() == mode());
  CHECK(cpu.num_threads() == num_threads());
  ScopedCudaEmulator emulator;
  ScopedMode fast(Mode::fast);
  CHECK(backend(DeviceType::cuda).mode() == Mode::fast);  // told, though the emulator computes exact anyway
}

TEST_CASE("the launch emulator can take the cuda slot and give it back", "[registry][emulator]") {
  const bool was_emulated = cuda_emulated();  // PRISM_CUDA_EMULATOR=1 puts it there for the whole run
  use_cuda_emulator(false);
  const bool real = device_available(DeviceType::cuda);
  if (!real) CHECK_THROWS_WITH(backend(DeviceType::cuda), Catch::Contains("not available"));
  {
    ScopedCudaEmulator emulator;
    CHECK(cuda_emulated());
    CHECK(device_available(DeviceType::cuda));
    CHECK(device_unavailable_reason(DeviceType::cuda).empty());
    CHECK(backend(DeviceType::cuda).device() == DeviceType::cuda);
    CHECK(std::string(device_name(DeviceType::cuda)) == "cuda");
    Tensor t = Tensor::from_vector({3}, {1.0f, 2.0f, 3.0f}, DeviceType::cuda);
    CHECK(&t.backend() == &backend(DeviceType::cuda));
    CHECK(scale(t, 2.0f).to_vector() == std::vector<float>{2.0f, 4.0f, 6.0f});
  }
  CHECK_FALSE(cuda_emulated());
  CHECK(device_available(DeviceType::cuda) == real);
  use_cuda_emulator(was_emulated);
}

TEST_CASE("nn ops forward and backward on the emulated cuda slot equal the CPU bit for bit",
          "[registry][emulator]") {
  ScopedMode exact(Mode::exact);
  const auto want = conv_net_pass(DeviceType::cpu);
  ScopedCudaEmulator emulator;
  require_same_bits(conv_net_pass(DeviceType::cuda), want);
}

TEST_CASE("fmnist-cnn training steps on the emulated cuda slot equal the CPU bit for bit",
          "[registry][emulator]") {
  ScopedMode exact(Mode::exact);
  TrainStep cpu(DeviceType::cpu, 8, 12);
  std::vector<float> cpu_losses;
  for (uint64_t s = 0; s < 3; ++s) cpu_losses.push_back(cpu.run(100 + s));
  ScopedCudaEmulator emulator;
  TrainStep emu(DeviceType::cuda, 8, 12);
  std::vector<float> emu_losses;
  for (uint64_t s = 0; s < 3; ++s) emu_losses.push_back(emu.run(100 + s));
  REQUIRE_BITWISE_EQUAL("losses", emu_losses, cpu_losses);
  require_same_bits(emu.parameters(), cpu.parameters());
}

TEST_CASE("the trainer on the emulated cuda slot writes the CPU's checkpoint byte for byte",
          "[registry][emulator][train]") {
  const std::string root = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(root + "/train-images-idx3-ubyte.gz")) FAIL("Fashion-MNIST is not installed");
  // PRISM with the memory on from iteration 8 of 12: forward, selection (clean probability from the memory),
  // contrastive batch + memory loss, backward, Adam, enqueue, then the retrieval evaluation.
  Config c;
  c.seed = 5;
  c.model.name = "fmnist-cnn";
  c.model.head_dim = 16;
  c.solver.max_iters = 12;
  c.xbm.size = 64;
  c.xbm.start_iteration = 8;
  c.noise.method = "prism";
  c.noise.type = "symmetric";
  c.noise.noise_rate = 0.3;
  c.noise.window_size = 4;
  c.data.dataset = "fashion-mnist";
  c.data.root = root;
  c.data.train_batchsize = 16;
  c.data.num_instances = 4;
  c.data.test_batchsize = 100;
  c.data.train_per_class = 20;
  c.data.test_per_class = 10;
  c.validation.verbose = 0;
  c.run.mode = "exact";
  c.run.threads = 2;
  const auto run = [&](const std::string& device) {
    Config cd = c;
    cd.run.device = device;
    TrainOptions opt;
    opt.out_dir = prism::testing::fresh_scratch_dir("registry_test", device);
    opt.progress = false;
    const TrainSummary s = train(cd, opt);
    CHECK(s.device == device);
    return std::make_pair(read_file(opt.out_dir + "/checkpoint.safetensors"), s.precision_at_1);
  };
  const auto cpu = run("cpu");
  ScopedCudaEmulator emulator;
  const auto emu = run("cuda");
  CHECK(emu.second == cpu.second);
  CHECK(emu.first.size() == cpu.first.size());
  CHECK(emu.first == cpu.first);
}

// Not part of the suite (slow): seconds per fmnist-cnn step at batch 64 on 28×28 inputs, emulated vs CPU.
TEST_CASE("emulated cuda: seconds per fmnist-cnn training step at batch 64", "[.][emulator-speed]") {
  ScopedMode exact(Mode::exact);
  const auto seconds_per_step = [](DeviceType d) {
    TrainStep step(d, 64, 28);
    step.run(1);  // warm-up, and the memory is non-empty from here on
    const auto t0 = std::chrono::steady_clock::now();
    const int steps = 2;
    for (int s = 0; s < steps; ++s) step.run(2 + s);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
  };
  const double cpu = seconds_per_step(DeviceType::cpu);
  ScopedCudaEmulator emulator;
  const double emu = seconds_per_step(DeviceType::cuda);
  std::printf("fmnist-cnn batch 64, exact, %d threads: cpu %.3f s/step, emulated cuda %.3f s/step\n",
              num_threads(), cpu, emu);
  CHECK(emu > 0);
}

namespace {
// A backend that declares it has no GEMM: the op dispatch must refuse it before calling the kernel.
class WithoutGemm final : public test::ReferenceBackend {
 public:
  bool supports(Op op) const override { return op != Op::gemm; }
};

Tensor on_backend(Backend& be, const Shape& shape, float value) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->storage = std::make_shared<Storage>(&be, shape_numel(shape) * sizeof(float));
  Tensor t(impl);
  t.fill(value);
  return t;
}
}  // namespace

TEST_CASE("an op on a backend that does not support its kernel throws naming the op and device",
          "[registry]") {
  WithoutGemm be;
  Tensor a = on_backend(be, {2, 3}, 1.0f), b = on_backend(be, {3, 2}, 2.0f);
  CHECK(add(a, a).to_vector() == std::vector<float>(6, 2.0f));  // supported kernels still run
  CHECK_THROWS_AS(matmul(a, b), Error);
  CHECK_THROWS_WITH(matmul(a, b), Catch::Contains("gemm") && Catch::Contains("cpu"));
  CHECK_THROWS_WITH(a.backend_for(Op::gemm), Catch::Contains("gemm is not supported by the cpu backend"));
  // Tensors of two backends of one device are not mixed either.
  Tensor c = Tensor::full({2, 3}, 1.0f);
  CHECK_THROWS_WITH(add(a, c), Catch::Contains("different backends"));
}

TEST_CASE("row views share storage, offset reads and writes, and refuse bad ranges", "[tensor]") {
  Tensor t = Tensor::from_vector({4, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  Tensor mid = t.rows(1, 3);
  CHECK(mid.shape() == Shape{2, 2});
  CHECK(mid.same_storage(t));
  CHECK(mid.to_vector() == std::vector<float>{2, 3, 4, 5});
  CHECK(mid.rows(1, 2).to_vector() == std::vector<float>{4, 5});
  CHECK(mid.reshape({4}).to_vector() == std::vector<float>{2, 3, 4, 5});
  CHECK(mid.clone().to_vector() == std::vector<float>{2, 3, 4, 5});
  mid.fill(-1.0f);
  CHECK(t.to_vector() == std::vector<float>{0, 1, -1, -1, -1, -1, 6, 7});
  mid.copy_from(Tensor::from_vector({2, 2}, {9, 9, 8, 8}));
  CHECK(t.to_vector() == std::vector<float>{0, 1, 9, 9, 8, 8, 6, 7});
  CHECK(sum(t.rows(3, 4)).item() == 13.0f);
  CHECK(t.rows(4, 4).numel() == 0);
  CHECK_THROWS_WITH(t.rows(2, 5), Catch::Contains("[2, 5)"));
  CHECK_THROWS_WITH(t.rows(3, 2), Catch::Contains("not a row range"));
  Tensor g = Tensor::zeros({3, 2}).set_requires_grad();
  CHECK_THROWS_WITH(g.rows(0, 1), Catch::Contains("requires gradients"));
  NoGradGuard no_grad;
  CHECK(g.rows(0, 1).numel() == 2);
}

TEST_CASE("core copy_rows and segment_mean_rows check their indices and match the backend kernels",
          "[tensor][dml]") {
  Tensor src = Tensor::from_vector({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor dst = Tensor::zeros({4, 2});
  copy_rows(dst, {3, 0}, src, {0, 2});
  CHECK(dst.to_vector() == std::vector<float>{5, 6, 0, 0, 0, 0, 1, 2});
  Tensor view = dst.rows(1, 3);
  copy_rows(view, {1}, src, {1});  // into a row view: row 2 of dst
  CHECK(dst.to_vector() == std::vector<float>{5, 6, 0, 0, 3, 4, 1, 2});
  CHECK_THROWS_WITH(copy_rows(dst, {4}, src, {0}), Catch::Contains("dst_rows[0] = 4"));
  CHECK_THROWS_WITH(copy_rows(dst, {0, 1}, src, {0}), Catch::Contains("2 destination rows for 1"));

  const auto in_values = random_values(600 * 3, 9);
  Tensor in = Tensor::from_vector({600, 3}, in_values);
  std::vector<int32_t> order(600), offsets = {0, 0, 550, 600};
  for (int32_t i = 0; i < 600; ++i) order[i] = (i * 7) % 600;
  Tensor means = segment_mean_rows(in, order, offsets);
  std::vector<float> want(3 * 3);
  backend(DeviceType::cpu)
      .segment_mean_rows(want.data(), in_values.data(), order.data(), offsets.data(), 3, 3);
  REQUIRE_BITWISE_EQUAL("segment means", means.to_vector(), want);
  CHECK_THROWS_WITH(segment_mean_rows(in, order, {0, 10}), Catch::Contains("offsets must run from 0"));
  CHECK_THROWS_WITH(segment_mean_rows(in, {600}, {0, 1}), Catch::Contains("order[0] = 600"));
}
