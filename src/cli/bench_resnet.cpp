// prism bench resnet: images/s of ResNet inference (the embedder's forward in eval mode) and of a ResNet
// training step (forward in train mode, a linear loss on the embeddings, backward, SGD with momentum), both
// modes, against the same network and step in PyTorch (tests/reference/bench_torch_resnet.py) in the same
// run. Reference wiring of nn::make_model; the timing is the same median as bench train's.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/bench_common.hpp"
#include "cli/commands.hpp"
#include "cli/runtime_options.hpp"
#include "cpu/isa.hpp"
#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/core/timing.hpp"
#include "prism/nn/models.hpp"
#include "prism/nn/optim.hpp"

namespace prism::cli {

namespace {

struct BenchResnetArgs {
  std::string infer_model = "resnet50", train_model = "resnet18",
              torch_script = std::string(PRISM_SOURCE_DIR) + "/tests/reference/bench_torch_resnet.py";
  int64_t batch = 32, size = 224, steps = 3, dim = 512;
  bool json = false, no_torch = false;
  RuntimeOptions runtime;
};

std::vector<float> uniform_values(size_t n, uint64_t seed) {
  Rng rng(seed, RngStream::test);
  return uniform_floats(n, rng, -1, 1);
}

std::shared_ptr<nn::Module> resnet(const std::string& name, const BenchResnetArgs& a, DeviceType device) {
  nn::ModelOptions o;
  o.embed_dim = a.dim;
  o.in_channels = 3;
  std::shared_ptr<nn::Module> model = nn::make_model(name, o);
  model->to(device);
  return model;
}

// Median seconds of one eval-mode forward of a [batch, 3, size, size] batch, in the current mode.
double time_inference(nn::Module& model, const Tensor& x, int64_t steps) {
  model.eval();
  NoGradGuard no_grad;
  return median_seconds([&] { sum(model(x)).item(); }, steps, 1);  // item(): synchronised, the work used
}

// Median seconds of one training step: forward (train mode), loss = Σ emb ⊙ target, backward, SGD step.
double time_training(nn::Module& model, const Tensor& x, const Tensor& target, int64_t steps) {
  model.train();
  nn::SgdOptions so;
  so.lr = 1e-4;
  so.momentum = 0.9;
  nn::Sgd sgd(model.named_parameters(), so);
  return median_seconds(
      [&] {
        sgd.zero_grad();
        Tensor loss = sum(mul(model(x), target));
        loss.backward();
        sgd.step();
        loss.item();
      },
      steps, 1);
}

}  // namespace

void register_bench_resnet(CLI::App* bench) {
  static BenchResnetArgs a;
  auto* cmd = bench->add_subcommand(
      "resnet",
      "Images/s of ResNet inference and of a ResNet training step (fast and exact), with PyTorch's");
  const auto resnets = CLI::IsMember({"resnet18", "resnet34", "resnet50"});
  cmd->add_option("--infer-model", a.infer_model, "Network timed for inference")
      ->check(resnets)
      ->capture_default_str();
  cmd->add_option("--train-model", a.train_model, "Network timed for training")
      ->check(resnets)
      ->capture_default_str();
  cmd->add_option("--batch", a.batch, "Images per batch")->check(positive_number())->capture_default_str();
  cmd->add_option("--size", a.size, "Square input size in pixels (at least 32)")
      ->check(CLI::Range(int64_t(32), int64_t(1024)))
      ->capture_default_str();
  cmd->add_option("--steps", a.steps, "Timed batches per measurement (median reported)")
      ->check(positive_number())
      ->capture_default_str();
  cmd->add_option("--torch-script", a.torch_script,
                  "The PyTorch twin (tests/reference/bench_torch_resnet.py)");
  cmd->add_flag("--no-torch", a.no_torch, "Skip the PyTorch comparison");
  cmd->add_flag("--json", a.json, "Print one JSON object on stdout");
  add_runtime_options(cmd, a.runtime, false);
  cmd->callback([] {
    const DeviceType device = apply_runtime_options(a.runtime);
    nlohmann::ordered_json r;
    r["batch"] = a.batch;
    r["size"] = a.size;
    r["device"] = device_name(device);
    r["threads"] = num_threads();
    r["isa"] = cpu::isa_description();
    const Shape shape{a.batch, 3, a.size, a.size};
    const Tensor x =
        Tensor::from_vector(shape, uniform_values(static_cast<size_t>(a.batch * 3 * a.size * a.size), 1))
            .to(device);
    const Tensor target =
        Tensor::from_vector({a.batch, a.dim}, uniform_values(static_cast<size_t>(a.batch * a.dim), 2))
            .to(device);
    struct Row {
      const char* what;
      std::string model;
    };
    const Row rows[] = {{"inference", a.infer_model}, {"training", a.train_model}};
    for (const Row& row : rows) {
      nlohmann::ordered_json& entry = r[row.what];
      entry["model"] = row.model;
      for (Mode m : {Mode::fast, Mode::exact}) {
        ScopedMode scoped(m);
        std::shared_ptr<nn::Module> model = resnet(row.model, a, device);
        const double s = std::string(row.what) == "inference" ? time_inference(*model, x, a.steps)
                                                              : time_training(*model, x, target, a.steps);
        entry["images_per_second"][mode_name(m)] = static_cast<double>(a.batch) / s;
      }
    }
    nlohmann::json torch = nlohmann::json{{"error", "skipped (--no-torch)"}};
    if (!a.no_torch)
      torch = run_python_twin(
          a.torch_script,
          {"--threads", std::to_string(num_threads()), "--device", device_name(device), "--batch",
           std::to_string(a.batch), "--size", std::to_string(a.size), "--steps", std::to_string(a.steps),
           "--dim", std::to_string(a.dim), "--infer-model", a.infer_model, "--train-model", a.train_model});
    if (record_twin(r, torch, "inference")) {
      for (const char* what : {"inference", "training"}) {
        const double t = torch[what]["images_per_second"].get<double>();
        r[what]["ratio_vs_pytorch"] = {{"fast", r[what]["images_per_second"]["fast"].get<double>() / t},
                                       {"exact", r[what]["images_per_second"]["exact"].get<double>() / t}};
      }
    }
    if (print_json_report(r, a.json)) return;
    std::printf("ResNet, batch %lld, %lld x %lld, %s, %d threads; CPU kernels: %s\n",
                static_cast<long long>(a.batch), static_cast<long long>(a.size),
                static_cast<long long>(a.size), device_name(device), num_threads(),
                r["isa"].get<std::string>().c_str());
    for (const char* what : {"inference", "training"}) {
      const auto& e = r[what];
      std::printf("  %-9s %-9s prism fast %7.1f img/s, exact %7.1f img/s", what,
                  e["model"].get<std::string>().c_str(), e["images_per_second"]["fast"].get<double>(),
                  e["images_per_second"]["exact"].get<double>());
      if (e.contains("ratio_vs_pytorch"))
        std::printf("; pytorch %7.1f img/s, ratio fast %.2f, exact %.2f\n",
                    r["pytorch"][what]["images_per_second"].get<double>(),
                    e["ratio_vs_pytorch"]["fast"].get<double>(),
                    e["ratio_vs_pytorch"]["exact"].get<double>());
      else
        std::printf("\n");
    }
    if (r.contains("pytorch_error"))
      std::printf("  pytorch: %s\n", r["pytorch_error"].get<std::string>().c_str());
  });
}

}  // namespace prism::cli
