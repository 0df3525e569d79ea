// prism bench train: images/s of one training step (forward, batch + memory contrastive loss, backward, Adam)
// in fast and exact mode, and — when PyTorch is importable — the same network and step in PyTorch
// (tests/reference/bench_torch.py), measured in the same run, with the ratio.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/commands.hpp"
#include "cli/runtime_options.hpp"
#include "cli/timing.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/dml/contrastive.hpp"
#include "prism/dml/memory_bank.hpp"
#include "prism/nn/models.hpp"
#include "prism/nn/optim.hpp"

#ifndef PRISM_SOURCE_DIR
#define PRISM_SOURCE_DIR "."
#endif

namespace prism::cli {

namespace {

struct BenchTrainArgs {
  std::string model = "fmnist-cnn",
              torch_script = std::string(PRISM_SOURCE_DIR) + "/tests/reference/bench_torch.py";
  int64_t batch = 64, instances = 8, steps = 20, dim = 64, memory = 8192;
  bool json = false, no_torch = false;
  RuntimeOptions runtime;
};

std::vector<float> uniform(size_t n, Rng& rng, float lo, float hi) {
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

nlohmann::json run_torch_with(const std::string& python, const BenchTrainArgs& a, DeviceType device) {
  const std::string cmd = python + " \"" + a.torch_script + "\" --threads " + std::to_string(num_threads()) +
                          " --device " + device_name(device) + " --batch " + std::to_string(a.batch) +
                          " --instances " + std::to_string(a.instances) + " --steps " +
                          std::to_string(a.steps) + " --dim " + std::to_string(a.dim) + " --memory " +
                          std::to_string(a.memory) + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {{"error", "cannot run " + python}};
  std::string out;
  char buf[4096];
  for (size_t got; (got = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, got);
  const int status = pclose(p);
  const size_t brace = out.rfind('{');
  if (status != 0 || brace == std::string::npos) {
    if (out.size() > 300) out = "…" + out.substr(out.size() - 300);
    return {{"error", "PyTorch comparison unavailable (" + python + "): " + out}};
  }
  nlohmann::json j = nlohmann::json::parse(out.substr(brace), nullptr, false);
  if (j.is_discarded()) return {{"error", "unreadable output of " + a.torch_script}};
  j["python"] = python;
  return j;
}

// Median seconds of one training step after 3 warm-up steps, in the current mode.
double time_training_step(const BenchTrainArgs& a, DeviceType device) {
  nn::ModelOptions mo;
  mo.embed_dim = a.dim;
  auto model = nn::make_model(a.model, mo);
  model->to(device);
  model->train();
  nn::AdamOptions ao;
  ao.lr = 1e-3;
  ao.weight_decay = 5e-4;
  nn::Adam adam(model->named_parameters(), ao);
  Rng rng(0, RngStream::test);
  const Tensor x = Tensor::from_vector({a.batch, 1, 28, 28}, uniform(a.batch * 784, rng, 0, 1)).to(device);
  std::vector<int32_t> labels(a.batch);
  for (int64_t i = 0; i < a.batch; ++i) labels[i] = static_cast<int32_t>(i / a.instances);
  const Tensor labels_t = dml::label_tensor(labels, device);
  // A full memory bank of random unit embeddings with labels 0..9.
  dml::MemoryBank bank(a.memory, a.dim, 10, device);
  {
    Tensor m = l2_normalize(Tensor::from_vector({a.memory, a.dim}, uniform(a.memory * a.dim, rng, -1, 1)));
    std::vector<int32_t> ml(a.memory);
    std::vector<int64_t> idx(a.memory);
    for (int64_t i = 0; i < a.memory; ++i) ml[i] = static_cast<int32_t>(rng.below(10)), idx[i] = i;
    bank.enqueue(m.to(device), ml, idx);
  }
  auto step = [&] {
    Tensor emb = model->forward(x);
    Tensor loss =
        add(dml::batch_contrastive_loss(emb, labels_t, Tensor()),
            dml::memory_contrastive_loss(emb, labels_t, Tensor(), bank.embeddings(), bank.labels_device()));
    adam.zero_grad();
    loss.backward();
    adam.step();
    (void)loss.item();  // synchronises the device
  };
  return median_seconds(step, a.steps, 3);
}

// Runs the PyTorch twin with the first interpreter that can import torch ($PRISM_PYTHON, python3, then
// Debian's /usr/bin/python3, which python3-torch serves even when another python3 is first on the PATH);
// returns its JSON object, or {"error": why}.
nlohmann::json run_torch(const BenchTrainArgs& a, DeviceType device) {
  std::vector<std::string> pythons;
  if (const char* env = std::getenv("PRISM_PYTHON"); env && *env) pythons.push_back(env);
  pythons.push_back("python3");
  pythons.push_back("/usr/bin/python3");
  nlohmann::json last = {{"error", "no python3"}};
  for (const std::string& py : pythons) {
    last = run_torch_with(py, a, device);
    if (!last.contains("error")) return last;
  }
  return last;
}

}  // namespace

void register_bench_train(CLI::App* bench) {
  static BenchTrainArgs a;
  auto* cmd = bench->add_subcommand("train",
                                    "Training-step images/s (fast and exact), with PyTorch's when available");
  cmd->add_option("--model", a.model, "Network (fmnist-cnn)")->check(CLI::IsMember({"fmnist-cnn"}));
  cmd->add_option("--batch", a.batch, "Batch size (P x K, K = --instances)");
  cmd->add_option("--instances", a.instances, "Instances per class in the batch");
  cmd->add_option("--steps", a.steps, "Timed steps per mode (median reported)");
  cmd->add_option("--memory", a.memory, "Memory bank rows (the memory loss runs against them)");
  cmd->add_option("--torch-script", a.torch_script, "The PyTorch twin (tests/reference/bench_torch.py)");
  cmd->add_flag("--no-torch", a.no_torch, "Skip the PyTorch comparison");
  cmd->add_flag("--json", a.json, "Print one JSON object on stdout");
  add_runtime_options(cmd, a.runtime, false);
  cmd->callback([] {
    if (a.batch % a.instances != 0) throw Error("--batch must be a multiple of --instances");
    const DeviceType device = apply_runtime_options(a.runtime);
    nlohmann::ordered_json r;
    r["model"] = a.model;
    r["batch"] = a.batch;
    r["device"] = device_name(device);
    r["threads"] = num_threads();
    double ips[2];
    for (Mode m : {Mode::fast, Mode::exact}) {
      ScopedMode scoped(m);
      ips[m == Mode::exact] = a.batch / time_training_step(a, device);
      r["images_per_second"][mode_name(m)] = ips[m == Mode::exact];
    }
    nlohmann::json torch =
        a.no_torch ? nlohmann::json{{"error", "skipped (--no-torch)"}} : run_torch(a, device);
    if (torch.contains("images_per_second")) {
      const double t = torch["images_per_second"].get<double>();
      r["pytorch"] = torch;
      r["ratio_vs_pytorch"] = {{"fast", ips[0] / t}, {"exact", ips[1] / t}};
    } else {
      r["pytorch"] = nullptr;
      r["pytorch_error"] = torch.value("error", "unknown");
    }
    if (a.json) {
      std::printf("%s\n", r.dump(2).c_str());
      return;
    }
    std::printf("training step, %s, batch %lld, %s, %d threads\n", a.model.c_str(),
                static_cast<long long>(a.batch), device_name(device), num_threads());
    std::printf("  prism fast   %8.0f img/s\n  prism exact  %8.0f img/s\n", ips[0], ips[1]);
    if (r.contains("ratio_vs_pytorch"))
      std::printf("  pytorch %s %6.0f img/s   ratio fast %.2f, exact %.2f\n",
                  r["pytorch"]["torch"].get<std::string>().c_str(),
                  r["pytorch"]["images_per_second"].get<double>(),
                  r["ratio_vs_pytorch"]["fast"].get<double>(), r["ratio_vs_pytorch"]["exact"].get<double>());
    else
      std::printf("  pytorch: %s\n", r["pytorch_error"].get<std::string>().c_str());
  });
}

}  // namespace prism::cli
