// prism check: the cross-check of devices and thread counts (reference code). Builds the run a config
// describes twice — a reference (CPU, exact mode, --ref-threads) and a target (--target cuda | cpu |
// emulator, --target-mode, --target-threads) — feeds both the same batches and calls the trainer's own step
// (TrainingRun::step) on each, then compares the whole state after every step bit for bit: parameters,
// buffers, optimizer moments, memory, window, selection, loss and embeddings (NaNs of any payload count as
// equal). Reports the first differing tensor and element; exit 0 on a full match, 1 on a mismatch, 2 when the
// target device is unavailable.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.hpp"
#include "prism/core/runtime.hpp"
#include "prism/core/timing.hpp"
#include "prism/dml/methods.hpp"
#include "prism/train/config.hpp"
#include "prism/train/data_setup.hpp"
#include "prism/train/run.hpp"

#ifndef PRISM_SOURCE_DIR
#define PRISM_SOURCE_DIR "."
#endif

namespace prism::cli {

namespace {

struct CheckOptions {
  std::string config = std::string(PRISM_SOURCE_DIR) + "/data/configs/fashion_mnist_sym50.yaml";
  std::vector<std::string> overrides;
  std::string method;
  int64_t seed = -1;
  int64_t steps = 30;
  int64_t memory_start = -1;
  std::string target = "cuda";
  std::string target_mode = "exact";
  int ref_threads = 1;
  int target_threads = 0;
  bool json = false;
};

struct Mismatch {
  int64_t step = -1;
  std::string tensor;
  Shape shape;
  int64_t index = -1;  // -1: the shapes or dtypes differ
  bool is_f32 = true;
  uint32_t ref = 0, got = 0;
};

float as_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::string hex(uint32_t u) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", u);
  return buf;
}

// "[3, 17]" for flat index 209 of a [12, 64] tensor.
std::string coordinates(const Shape& shape, int64_t index) {
  std::vector<int64_t> c(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    c[d] = shape[d] > 0 ? index % shape[d] : 0;
    index = shape[d] > 0 ? index / shape[d] : 0;
  }
  std::string s = "[";
  for (size_t d = 0; d < c.size(); ++d) s += (d ? ", " : "") + std::to_string(c[d]);
  return s + "]";
}

// The first element where two host tensors differ in their bits (-1 when equal; shape mismatch → index -1
// with `same` false).
bool same_bits(const Tensor& a, const Tensor& b, int64_t* index, uint32_t* ra, uint32_t* rb) {
  *index = -1;
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  const int64_t n = a.numel();
  const bool f32 = a.dtype() == DType::f32;
  const void* va = f32 ? static_cast<const void*>(a.data_f32()) : static_cast<const void*>(a.data_i32());
  const void* vb = f32 ? static_cast<const void*>(b.data_f32()) : static_cast<const void*>(b.data_i32());
  const uint32_t* pa = static_cast<const uint32_t*>(va);
  const uint32_t* pb = static_cast<const uint32_t*>(vb);
  for (int64_t i = 0; i < n; ++i) {
    if (pa[i] == pb[i]) continue;
    if (f32 && std::isnan(as_float(pa[i])) && std::isnan(as_float(pb[i]))) continue;
    *index = i;
    *ra = pa[i];
    *rb = pb[i];
    return false;
  }
  return true;
}

std::string side_name(DeviceType d, bool emulator, int threads) {
  if (d == DeviceType::cuda) return emulator ? "cuda (emulator on the cpu)" : "cuda";
  const int n = threads > 0 ? threads : num_threads();
  return "cpu (" + std::to_string(n) + (n == 1 ? " thread)" : " threads)");
}

Config check_config(const CheckOptions& o, int64_t* memory_start_note) {
  if (!std::filesystem::exists(o.config))
    throw Error("--config " + o.config + ": no such file (prism check runs the run a config describes)");
  std::vector<std::string> overrides = o.overrides;
  if (!o.method.empty()) overrides.push_back("NOISE.METHOD=" + o.method);
  if (o.seed >= 0) overrides.push_back("SEED=" + std::to_string(o.seed));
  std::vector<std::string> warnings;
  Config c = load_config(o.config, overrides, &warnings);
  for (const std::string& w : warnings) std::fprintf(stderr, "prism: warning: %s\n", w.c_str());
  // The memory and the selection must be exercised within the steps checked: unless --memory-start says
  // otherwise, the memory starts after a third of them (the config's later start is reported).
  *memory_start_note = c.xbm.start_iteration;
  c.xbm.start_iteration =
      o.memory_start >= 0 ? o.memory_start : std::min<int64_t>(c.xbm.start_iteration, o.steps / 3);
  c.solver.max_iters = std::max(c.solver.max_iters, o.steps);
  c.data.prefetch = false;
  return c;
}

int run_check(const CheckOptions& o) {
  if (o.steps < 1) throw Error("--steps must be >= 1, got " + std::to_string(o.steps));
  if (o.ref_threads < 0) throw Error("--ref-threads must be >= 0, got " + std::to_string(o.ref_threads));
  if (o.target_threads < 0)
    throw Error("--target-threads must be >= 0, got " + std::to_string(o.target_threads));
  const bool emulator = o.target == "emulator";
  const DeviceType target = emulator ? DeviceType::cuda : parse_device(o.target);
  const Mode target_mode = parse_mode(o.target_mode);
  if (emulator) use_cuda_emulator();  // before any cuda tensor exists: the cuda slot runs the emulator
  if (!device_available(target)) {
    std::fprintf(
        stderr,
        "prism check: device %s is not available: %s\n"
        "  (to compare the CPU with itself at two thread counts instead, use --target cpu; to run the "
        "CUDA backend's exact kernels on the CPU, --target emulator)\n",
        o.target.c_str(), device_unavailable_reason(target).c_str());
    return 2;
  }
  int64_t config_memory_start = 0;
  const Config cfg = check_config(o, &config_memory_start);
  const int target_threads = target == DeviceType::cpu && o.target_threads == 0 ? 2 : o.target_threads;
  validate_config(cfg);  // the run's one validation
  const DataSetup data = open_datasets(cfg);
  TrainingRun ref(cfg, data.train, DeviceType::cpu), got(cfg, data.train, target);
  const std::string ref_name = side_name(DeviceType::cpu, false, o.ref_threads);
  const std::string got_name =
      side_name(target, target == DeviceType::cuda && cuda_emulated(), target_threads) +
      (target_mode == Mode::exact ? "" : " in fast mode");
  if (!o.json)
    std::fprintf(
        stderr, "prism check: %s, method %s, %lld steps, memory from iteration %lld%s: %s vs %s\n",
        o.config.c_str(), ref.method().name, static_cast<long long>(o.steps),
        static_cast<long long>(cfg.xbm.start_iteration),
        config_memory_start != cfg.xbm.start_iteration
            ? (" (the config says " + std::to_string(config_memory_start) + "; --memory-start)").c_str()
            : "",
        ref_name.c_str(), got_name.c_str());

  Mismatch first;
  int64_t tensors = 0, elements = 0, memory_steps = 0;
  double ref_seconds = 0, got_seconds = 0;
  float first_loss = 0, last_loss = 0;
  for (int64_t it = 0; it < o.steps && first.step < 0; ++it) {
    const Batch batch = ref.load_batch(it);  // a pure function of (SEED, it): one load feeds both sides
    const auto t0 = std::chrono::steady_clock::now();
    StepResult r;
    {
      ScopedThreads threads(o.ref_threads);
      ScopedMode mode(Mode::exact);
      r = ref.step(batch);
    }
    const auto t1 = std::chrono::steady_clock::now();
    {
      ScopedThreads threads(target_threads);
      ScopedMode mode(target_mode);
      got.step(batch);
      backend(target).synchronize();
    }
    ref_seconds += std::chrono::duration<double>(t1 - t0).count();
    got_seconds += seconds_since(t1);
    memory_steps += r.memory_on;
    const auto a = ref.state_tensors(), b = got.state_tensors();
    if (a.size() != b.size()) throw Error("check: the two runs report different state lists");
    tensors = static_cast<int64_t>(a.size());
    for (size_t k = 0; k < a.size() && first.step < 0; ++k) {
      if (a[k].first != b[k].first) throw Error("check: state " + a[k].first + " vs " + b[k].first);
      elements += a[k].second.numel();
      int64_t index = -1;
      uint32_t ra = 0, rb = 0;
      if (!same_bits(a[k].second, b[k].second, &index, &ra, &rb))
        first =
            Mismatch{it, a[k].first, a[k].second.shape(), index, a[k].second.dtype() == DType::f32, ra, rb};
    }
    last_loss = r.loss;
    if (it == 0) first_loss = last_loss;
  }

  const bool match = first.step < 0;
  if (o.json) {
    nlohmann::ordered_json j;
    j["result"] = match ? "match" : "mismatch";
    j["config"] = o.config;
    j["method"] = ref.method().name;
    j["mode"] = "exact";
    j["reference"] = ref_name;
    j["target"] = got_name;
    j["steps"] = o.steps;
    j["memory_start"] = cfg.xbm.start_iteration;
    j["steps_with_memory"] = memory_steps;
    j["seed"] = cfg.seed;
    j["batch"] = cfg.data.train_batchsize;
    j["tensors_per_step"] = tensors;
    j["elements_compared"] = elements;
    j["loss_first"] = first_loss;
    j["loss_last"] = last_loss;
    j["seconds"] = {{"reference", ref_seconds}, {"target", got_seconds}};
    if (!match) {
      nlohmann::ordered_json m = {{"step", first.step}, {"tensor", first.tensor}, {"index", first.index}};
      if (first.index >= 0) {
        m["coordinates"] = coordinates(first.shape, first.index);
        if (first.is_f32) {
          m["reference"] = as_float(first.ref);
          m["target"] = as_float(first.got);
        } else {
          m["reference"] = static_cast<int32_t>(first.ref);
          m["target"] = static_cast<int32_t>(first.got);
        }
        m["reference_bits"] = hex(first.ref);
        m["target_bits"] = hex(first.got);
      }
      j["first_mismatch"] = m;
    }
    std::printf("%s\n", j.dump(2).c_str());
  } else if (match) {
    std::printf(
        "check: %lld exact steps of %s (%lld with memory), %s vs %s: all %lld tensors bit-identical after "
        "every "
        "step (loss %.6f -> %.6f; %.2f s vs %.2f s)\n",
        static_cast<long long>(o.steps), ref.method().name, static_cast<long long>(memory_steps),
        ref_name.c_str(), got_name.c_str(), static_cast<long long>(tensors), first_loss, last_loss,
        ref_seconds, got_seconds);
  } else {
    std::printf("check: MISMATCH after step %lld, tensor %s", static_cast<long long>(first.step + 1),
                first.tensor.c_str());
    if (first.index >= 0 && first.is_f32)
      std::printf(" element %lld %s: %s %.9g (%s) vs %s %.9g (%s)\n", static_cast<long long>(first.index),
                  coordinates(first.shape, first.index).c_str(), ref_name.c_str(), as_float(first.ref),
                  hex(first.ref).c_str(), got_name.c_str(), as_float(first.got), hex(first.got).c_str());
    else if (first.index >= 0)
      std::printf(" element %lld %s: %s %d vs %s %d\n", static_cast<long long>(first.index),
                  coordinates(first.shape, first.index).c_str(), ref_name.c_str(),
                  static_cast<int32_t>(first.ref), got_name.c_str(), static_cast<int32_t>(first.got));
    else
      std::printf(": shapes or types differ\n");
  }
  return match ? 0 : 1;
}

}  // namespace

void register_check(CLI::App& app) {
  static CheckOptions o;
  auto* check = app.add_subcommand(
      "check",
      "Cross-check devices: the trainer's own step on the CPU (exact, reference) and on a target device or "
      "thread count, the whole state compared bit for bit after every step (exit 1 on a mismatch, 2 if the "
      "target is unavailable)");
  check->add_option("--config", o.config, "YAML config of the run to check (default: the shipped default)")
      ->capture_default_str();
  check->add_option("--set", o.overrides, "Override a config key: KEY=VALUE (repeatable)");
  check
      ->add_option("--method", o.method,
                   "Training method (overrides NOISE.METHOD): " + dml::method_names_text(" | "))
      ->check(CLI::IsMember(dml::method_names()));
  check->add_option("--seed", o.seed, "Seed of every random stream (overrides SEED)")
      ->check(nonnegative_number());
  check->add_option("--steps", o.steps, "Training steps to run and compare")->capture_default_str();
  check
      ->add_option("--memory-start", o.memory_start,
                   "Iteration where the memory starts (default: the config's XBM.START_ITERATION, at most a "
                   "third of --steps)")
      ->check(nonnegative_number());
  check
      ->add_option(
          "--target", o.target,
          "Compared with the CPU reference: cuda (a GPU), cpu (another thread count), or emulator (the "
          "CUDA backend's exact kernels run on the CPU by the launch emulator)")
      ->check(CLI::IsMember({"cuda", "cpu", "emulator"}))
      ->capture_default_str();
  check
      ->add_option(
          "--target-mode", o.target_mode,
          "Numeric mode of the target run: exact, or fast to see where fast mode first departs from exact")
      ->check(CLI::IsMember({"exact", "fast"}))
      ->capture_default_str();
  check->add_option("--ref-threads", o.ref_threads, "CPU threads of the reference run (0 = all)")
      ->capture_default_str();
  check
      ->add_option("--target-threads", o.target_threads,
                   "CPU threads of the target run (0 = all; with --target cpu, 0 means 2)")
      ->capture_default_str();
  check->add_flag("--json", o.json, "Print one JSON object on stdout");
  check->callback([] {
    const int code = run_check(o);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace prism::cli
