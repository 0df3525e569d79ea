// prism bench train: images/s of the trainer's own training step (TrainingRun::step: forward, selection,
// batch + memory loss, backward, Adam, enqueue) in fast and exact mode on a fixed synthetic batch with a
// full memory bank, and — when PyTorch is importable — the same network and step in PyTorch
// (tests/reference/bench_torch.py), measured in the same run, with the ratio. The two alternate: `--sittings`
// times prism's step and then the twin's, so host speed that drifts over a minute (shared machines drift by
// ±15 %) falls on both; each sitting's ratio pairs figures taken seconds apart, and the median is reported.

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/bench_common.hpp"
#include "cli/commands.hpp"
#include "cli/runtime_options.hpp"
#include "cpu/isa.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/profile.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/core/timing.hpp"
#include "prism/dml/methods.hpp"
#include "prism/train/run.hpp"

namespace prism::cli {

namespace {

struct BenchTrainArgs {
  std::string model = "fmnist-cnn", method = "xbm",
              torch_script = std::string(PRISM_SOURCE_DIR) + "/tests/reference/bench_torch.py";
  int64_t batch = 64, instances = 8, steps = 20, dim = 64, memory = 8192, sittings = 5;
  bool json = false, no_torch = false;
  RuntimeOptions runtime;
};

constexpr int64_t kBenchClasses = 10;  // memory labels are drawn from 0..9, as the PyTorch twin's

// kBenchClasses × K random 28×28 images, label = row / K: the training set the run is built on (its class
// count sizes the memory); the timed batch is its first `batch` rows.
class SyntheticImages final : public Dataset {
 public:
  SyntheticImages(int64_t instances, Rng& rng) {
    const int64_t n = kBenchClasses * instances;
    for (int64_t i = 0; i < n; ++i) labels_.push_back(static_cast<int32_t>(i / instances));
    pixels_ = uniform_floats(static_cast<size_t>(n * 784), rng, 0, 1);
  }
  Shape sample_shape() const override { return {1, 28, 28}; }
  std::string describe() const override { return "synthetic 28x28 images"; }
  std::string sample_source(int64_t i) const override { return "synthetic[" + std::to_string(i) + "]"; }
  void load_sample(int64_t i, bool, Rng&, float* out) const override {
    std::copy_n(pixels_.begin() + i * 784, 784, out);
  }

 private:
  std::vector<float> pixels_;
};

// The run the PyTorch twin mirrors: fmnist-cnn with a `dim`-d head, Adam (lr 1e-3, weight decay 5e-4,
// constant lr), the contrastive loss on the batch and on a memory of `memory` rows from the first step.
Config bench_config(const BenchTrainArgs& a) {
  Config c;
  c.model.name = a.model;
  c.model.head_dim = a.dim;
  c.solver.base_lr = 1e-3;
  c.solver.weight_decay = 5e-4;
  c.solver.lr_schedular = "constant";
  c.solver.max_iters = 1000000;
  c.xbm.size = a.memory;
  c.xbm.start_iteration = 0;
  c.noise.method = a.method;
  c.noise.type = "none";
  c.data.train_batchsize = a.batch;
  c.data.num_instances = a.instances;
  c.run.mode = mode_name(mode());
  validate_config(c);
  return c;
}

struct StepTiming {
  double seconds = 0;                   // median of the unprofiled steps, all sittings together
  std::vector<double> sitting_seconds;  // the median of each sitting's steps
  double profiled_seconds = 0;          // mean wall time of the profiled steps
  std::vector<profile::Entry> phases;   // exclusive time per profiler path, mean per profiled step
};

// Median seconds of one TrainingRun::step in each mode (index 0 fast, 1 exact), over `sittings` sittings of
// `steps` steps per mode with after_sitting(s) called after each (the twin's run), then `steps` more steps per
// mode with the profiler on, for the per-op breakdown (timed apart, so the profiler's clock reads and GPU
// synchronisations never touch the median). One run, warmed up, takes its timed steps in rounds that
// alternate the mode, so neither mode is favoured by when in the process it runs (timed one after the other,
// whichever went first read slower, until the CPU backend cached its freed blocks: backends/cpu/memory.cpp).
// The training state the steps start from does not change their cost.
constexpr int kWarmupSteps = 5;
constexpr int64_t kRounds = 5;

std::array<StepTiming, 2> time_training_steps(const BenchTrainArgs& a, DeviceType device,
                                              const std::function<void(int64_t)>& after_sitting) {
  Rng rng(0, RngStream::test);
  auto data = std::make_shared<SyntheticImages>(a.instances, rng);
  TrainingRun run(bench_config(a), data, device);
  if (dml::MemoryBank* bank = run.memory()) {  // a full memory of random unit embeddings, labels 0..9
    Tensor m =
        l2_normalize(Tensor::from_vector({a.memory, a.dim}, uniform_floats(a.memory * a.dim, rng, -1, 1)));
    std::vector<int32_t> ml(a.memory);
    std::vector<int64_t> idx(a.memory);
    for (int64_t i = 0; i < a.memory; ++i) ml[i] = static_cast<int32_t>(rng.below(kBenchClasses)), idx[i] = i;
    bank->enqueue(m.to(device), ml, idx);
  }
  std::vector<int64_t> rows(a.batch);
  for (int64_t i = 0; i < a.batch; ++i) rows[i] = i;
  const Batch batch = data->load_batch(rows, false, 0, 0);
  const Mode modes[2] = {Mode::fast, Mode::exact};
  for (Mode m : modes) {
    ScopedMode scoped(m);
    for (int i = 0; i < kWarmupSteps; ++i) run.step(batch);
  }
  std::array<StepTiming, 2> t;
  std::vector<double> times[2];
  const int64_t per_round = std::max<int64_t>(1, (a.steps + kRounds - 1) / kRounds);
  for (int64_t sitting = 0; sitting < a.sittings; ++sitting) {
    std::vector<double> sitting_times[2];
    for (int64_t round = 0; round < kRounds; ++round)
      for (int m = 0; m < 2; ++m) {
        ScopedMode scoped(modes[m]);
        for (int64_t i = 0; i < per_round; ++i) {
          const auto t0 = BenchClock::now();
          run.step(batch);  // step() ends with loss.item(): synchronised
          sitting_times[m].push_back(seconds_since(t0));
        }
      }
    for (int m = 0; m < 2; ++m) {
      t[m].sitting_seconds.push_back(median(sitting_times[m]));
      times[m].insert(times[m].end(), sitting_times[m].begin(), sitting_times[m].end());
    }
    after_sitting(sitting);
  }
  for (int m = 0; m < 2; ++m) {
    ScopedMode scoped(modes[m]);
    t[m].seconds = median(times[m]);
    profile::set_synchronize([device] { backend(device).synchronize(); });
    profile::set_enabled(true);
    const auto t0 = BenchClock::now();
    for (int64_t i = 0; i < a.steps; ++i) run.step(batch);
    t[m].profiled_seconds = seconds_since(t0) / static_cast<double>(a.steps);
    t[m].phases = profile::entries();
    profile::set_enabled(false);
    profile::set_synchronize(nullptr);
    for (profile::Entry& e : t[m].phases) e.seconds /= static_cast<double>(a.steps);
  }
  return t;
}

// "step/backward/conv1" → "backward conv1"; the step's own exclusive time is what no phase claimed.
std::string phase_name(const std::string& path) {
  if (path == "step") return "other (step, unattributed)";
  std::string name = path.rfind("step/", 0) == 0 ? path.substr(5) : path;
  std::replace(name.begin(), name.end(), '/', ' ');
  return name;
}

nlohmann::ordered_json breakdown_json(const StepTiming& t) {
  nlohmann::ordered_json j;
  j["profiled_step_ms"] = 1e3 * t.profiled_seconds;
  double total = 0;
  for (const profile::Entry& e : t.phases) total += e.seconds;
  j["attributed_ms"] = 1e3 * total;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const profile::Entry& e : t.phases)
    rows.push_back({{"phase", phase_name(e.path)},
                    {"ms", 1e3 * e.seconds},
                    {"share", t.profiled_seconds > 0 ? e.seconds / t.profiled_seconds : 0.0}});
  j["phases"] = rows;
  return j;
}

// The PyTorch twin of this step (tests/reference/bench_torch.py), run as run_python_twin does.
nlohmann::json run_torch(const BenchTrainArgs& a, DeviceType device) {
  return run_python_twin(
      a.torch_script,
      {"--threads", std::to_string(num_threads()), "--device", device_name(device), "--batch",
       std::to_string(a.batch), "--instances", std::to_string(a.instances), "--steps",
       std::to_string(a.steps), "--dim", std::to_string(a.dim), "--memory", std::to_string(a.memory)});
}

}  // namespace

void register_bench_train(CLI::App* bench) {
  static BenchTrainArgs a;
  auto* cmd = bench->add_subcommand(
      "train", "Images/s of the trainer's step (fast and exact), with PyTorch's when available");
  cmd->add_option("--model", a.model, "Network (fmnist-cnn)")->check(CLI::IsMember({"fmnist-cnn"}));
  cmd->add_option("--method", a.method, "Training method of the step (xbm: what the PyTorch twin runs)")
      ->check(CLI::IsMember(dml::method_names()))
      ->capture_default_str();
  cmd->add_option("--batch", a.batch, "Batch size (P x K, K = --instances)")->check(positive_number());
  cmd->add_option("--instances", a.instances, "Instances per class in the batch")->check(positive_number());
  cmd->add_option("--steps", a.steps, "Timed steps per mode (median reported)")->check(positive_number());
  cmd->add_option("--memory", a.memory, "Memory bank rows (the memory loss runs against them)")
      ->check(positive_number());
  cmd->add_option(
         "--sittings", a.sittings,
         "Sittings: prism's timed steps, then the twin's run, this many times in turn (medians reported)")
      ->check(positive_number())
      ->capture_default_str();
  cmd->add_option("--torch-script", a.torch_script, "The PyTorch twin (tests/reference/bench_torch.py)");
  cmd->add_flag("--no-torch", a.no_torch, "Skip the PyTorch comparison");
  cmd->add_flag("--json", a.json, "Print one JSON object on stdout");
  add_runtime_options(cmd, a.runtime, false);
  cmd->callback([] {
    if (a.batch % a.instances != 0)
      throw Error("--batch " + std::to_string(a.batch) + " must be a multiple of --instances " +
                  std::to_string(a.instances));
    if (a.batch / a.instances > kBenchClasses)
      throw Error("--batch / --instances must be at most " + std::to_string(kBenchClasses) + " classes");
    const DeviceType device = apply_runtime_options(a.runtime);
    nlohmann::ordered_json r;
    r["model"] = a.model;
    r["method"] = a.method;
    r["batch"] = a.batch;
    r["device"] = device_name(device);
    r["threads"] = num_threads();
    r["isa"] = cpu::isa_description();
    double ips[2];
    // The twin after each sitting, until one fails (its error is then the report's).
    std::vector<nlohmann::json> twins;
    nlohmann::json torch = nlohmann::json{{"error", "skipped (--no-torch)"}};
    const std::array<StepTiming, 2> timing = time_training_steps(a, device, [&](int64_t) {
      if (a.no_torch || (!twins.empty() && !twins.back().contains("images_per_second"))) return;
      twins.push_back(run_torch(a, device));
    });
    for (Mode m : {Mode::fast, Mode::exact}) {
      ips[m == Mode::exact] = static_cast<double>(a.batch) / timing[m == Mode::exact].seconds;
      r["images_per_second"][mode_name(m)] = ips[m == Mode::exact];
    }
    const bool twin_ok = !twins.empty() && twins.back().contains("images_per_second");
    if (!twins.empty()) torch = twins.back();
    nlohmann::ordered_json sittings = nlohmann::ordered_json::array();
    std::vector<double> torch_ips, ratio[2];
    for (size_t k = 0; k < static_cast<size_t>(a.sittings); ++k) {
      const double prism_ips[2] = {static_cast<double>(a.batch) / timing[0].sitting_seconds[k],
                                   static_cast<double>(a.batch) / timing[1].sitting_seconds[k]};
      nlohmann::ordered_json row = {{"fast", prism_ips[0]}, {"exact", prism_ips[1]}};
      if (twin_ok) {
        const double t = twins[k]["images_per_second"].get<double>();
        torch_ips.push_back(t);
        row["pytorch"] = t;
        for (int m = 0; m < 2; ++m) ratio[m].push_back(prism_ips[m] / t);
        row["ratio_fast"] = ratio[0].back();
        row["ratio_exact"] = ratio[1].back();
      }
      sittings.push_back(row);
    }
    r["sittings"] = sittings;
    for (Mode m : {Mode::fast, Mode::exact})
      r["breakdown"][mode_name(m)] = breakdown_json(timing[m == Mode::exact]);
    if (twin_ok) {  // the median sitting's, as prism's
      torch["images_per_second"] = median(torch_ips);
      torch["step_ms"] = 1e3 * static_cast<double>(a.batch) / median(torch_ips);
    }
    if (record_twin(r, torch, "images_per_second"))
      r["ratio_vs_pytorch"] = {{"fast", median(ratio[0])},
                               {"exact", median(ratio[1])},
                               {"of", "the median over sittings of each sitting's prism / PyTorch img/s"}};
    if (print_json_report(r, a.json)) return;
    std::printf("training step (TrainingRun::step, method %s), %s, batch %lld, %s, %d threads\n",
                a.method.c_str(), a.model.c_str(), static_cast<long long>(a.batch), device_name(device),
                num_threads());
    std::printf("  CPU kernels: %s\n", r["isa"].get<std::string>().c_str());
    std::printf("  prism fast   %8.0f img/s\n  prism exact  %8.0f img/s\n", ips[0], ips[1]);
    for (size_t k = 0; k < r["sittings"].size(); ++k) {
      const auto& row = r["sittings"][k];
      std::printf("  sitting %zu: fast %6.0f, exact %6.0f img/s", k + 1, row["fast"].get<double>(),
                  row["exact"].get<double>());
      if (row.contains("pytorch"))
        std::printf(", pytorch %6.0f img/s, ratio fast %.2f, exact %.2f", row["pytorch"].get<double>(),
                    row["ratio_fast"].get<double>(), row["ratio_exact"].get<double>());
      std::printf("\n");
    }
    if (r.contains("ratio_vs_pytorch"))
      std::printf(
          "  pytorch %s (BLAS %s) %6.0f img/s   ratio fast %.2f, exact %.2f (median of the sittings)\n",
          r["pytorch"]["torch"].get<std::string>().c_str(),
          r["pytorch"].value("blas", std::string("unknown")).c_str(),
          r["pytorch"]["images_per_second"].get<double>(), r["ratio_vs_pytorch"]["fast"].get<double>(),
          r["ratio_vs_pytorch"]["exact"].get<double>());
    else
      std::printf("  pytorch: %s\n", r["pytorch_error"].get<std::string>().c_str());
    // The per-op breakdown (profiled steps, timed apart from the medians above).
    std::printf("\nwhere a step's time goes (mean of %lld profiled steps; share of the profiled step)\n",
                static_cast<long long>(a.steps));
    std::printf("  %-34s %10s %7s %10s %7s\n", "phase", "fast ms", "share", "exact ms", "share");
    const auto& fast_rows = r["breakdown"]["fast"]["phases"];
    const auto& exact_rows = r["breakdown"]["exact"]["phases"];
    for (const auto& row : exact_rows) {
      const std::string name = row["phase"].get<std::string>();
      double fast_ms = 0, fast_share = 0;
      for (const auto& f : fast_rows)
        if (f["phase"] == name) fast_ms = f["ms"].get<double>(), fast_share = f["share"].get<double>();
      std::printf("  %-34s %10.2f %6.1f%% %10.2f %6.1f%%\n", name.c_str(), fast_ms, 100 * fast_share,
                  row["ms"].get<double>(), 100 * row["share"].get<double>());
    }
    std::printf("  %-34s %10.2f %7s %10.2f\n", "step (profiled)",
                r["breakdown"]["fast"]["profiled_step_ms"].get<double>(), "",
                r["breakdown"]["exact"]["profiled_step_ms"].get<double>());
  });
}

}  // namespace prism::cli
