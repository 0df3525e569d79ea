// prism check: the GPU-vs-CPU cross-check (reference code). Replays the same exact-mode training steps
// (CheckRun, src/cli/check_run.hpp) on a reference device and a target device from the same seed, and after
// every step compares every parameter, optimizer state, batch-norm statistic, the memory bank and the
// selection, bit for bit (NaNs of any payload count as equal). Reports the first differing tensor and
// element; exit 0 on a full match, 1 on a mismatch, 2 when the target device is unavailable.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/check_run.hpp"
#include "cli/commands.hpp"
#include "prism/core/runtime.hpp"

namespace prism::cli {

namespace {

struct CheckOptions {
  int64_t steps = 50;
  uint64_t seed = 0;
  int64_t batch = 32;
  std::string target = "cuda";
  std::string target_mode = "exact";
  int ref_threads = 1;
  int target_threads = 0;
  bool json = false;
};

struct Mismatch {
  int64_t step = -1;
  std::string tensor;
  int64_t index = -1;
  bool is_f32 = true;
  uint32_t ref = 0, got = 0;
};

float as_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

bool same_bits(const StateEntry& a, const StateEntry& b, int64_t* index) {
  if (a.bits.size() != b.bits.size()) {
    *index = -1;
    return false;
  }
  for (size_t i = 0; i < a.bits.size(); ++i) {
    if (a.bits[i] == b.bits[i]) continue;
    if (a.is_f32 && std::isnan(as_float(a.bits[i])) && std::isnan(as_float(b.bits[i]))) continue;
    *index = static_cast<int64_t>(i);
    return false;
  }
  return true;
}

std::string hex(uint32_t u) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", u);
  return buf;
}

std::string side_name(DeviceType d, int threads) {
  std::string s = device_name(d);
  const int n = threads > 0 ? threads : num_threads();
  if (d == DeviceType::cpu) s += " (" + std::to_string(n) + (n == 1 ? " thread)" : " threads)");
  return s;
}

int run_check(const CheckOptions& o) {
  const DeviceType target = parse_device(o.target);
  const Mode target_mode = parse_mode(o.target_mode);
  if (o.steps < 1) throw Error("check: --steps must be >= 1, got " + std::to_string(o.steps));
  if (!device_available(target)) {
    std::fprintf(stderr,
                 "prism check: device %s is not available: %s\n"
                 "  (to compare the CPU with itself at two thread counts instead, use --target cpu)\n",
                 o.target.c_str(), device_unavailable_reason(target).c_str());
    return 2;
  }
  ScopedMode exact(Mode::exact);
  const int saved_threads = num_threads();
  CheckRunOptions run_opt;
  run_opt.seed = o.seed;
  run_opt.batch = o.batch;
  const int target_threads = target == DeviceType::cpu && o.target_threads == 0 ? 2 : o.target_threads;
  auto with_threads = [&](int n, auto&& f) {
    set_num_threads(n);
    f();
  };
  std::unique_ptr<CheckRun> ref, got;
  with_threads(o.ref_threads, [&] { ref = make_check_run(DeviceType::cpu, run_opt); });
  with_threads(target_threads, [&] { got = make_check_run(target, run_opt); });

  Mismatch first;
  int64_t tensors = 0, elements = 0;
  double ref_seconds = 0, got_seconds = 0;
  float first_loss = 0, last_loss = 0;
  for (int64_t it = 0; it < o.steps && first.step < 0; ++it) {
    auto t0 = std::chrono::steady_clock::now();
    with_threads(o.ref_threads, [&] { ref->step(it); });
    auto t1 = std::chrono::steady_clock::now();
    with_threads(target_threads, [&] {
      ScopedMode mode(target_mode);
      got->step(it);
      backend(target).synchronize();
    });
    auto t2 = std::chrono::steady_clock::now();
    ref_seconds += std::chrono::duration<double>(t1 - t0).count();
    got_seconds += std::chrono::duration<double>(t2 - t1).count();
    const auto a = ref->state(), b = got->state();
    if (a.size() != b.size()) throw Error("check: the two runs report different state lists");
    tensors = static_cast<int64_t>(a.size());
    for (size_t k = 0; k < a.size() && first.step < 0; ++k) {
      int64_t index = 0;
      elements += static_cast<int64_t>(a[k].bits.size());
      if (!same_bits(a[k], b[k], &index)) {
        first = Mismatch{it,
                         a[k].name,
                         index,
                         a[k].is_f32,
                         index >= 0 ? a[k].bits[index] : 0,
                         index >= 0 ? b[k].bits[index] : 0};
      }
    }
    last_loss = ref->last_loss();
    if (it == 0) first_loss = last_loss;
  }
  set_num_threads(saved_threads);

  const bool match = first.step < 0;
  const std::string ref_name = side_name(DeviceType::cpu, o.ref_threads);
  const std::string got_name =
      side_name(target, target_threads) + (target_mode == Mode::exact ? "" : " in fast mode");
  if (o.json) {
    nlohmann::json j;
    j["result"] = match ? "match" : "mismatch";
    j["mode"] = "exact";
    j["reference"] = ref_name;
    j["target"] = got_name;
    j["steps"] = o.steps;
    j["seed"] = o.seed;
    j["batch"] = o.batch;
    j["tensors_per_step"] = tensors;
    j["elements_compared"] = elements;
    j["loss_first"] = first_loss;
    j["loss_last"] = last_loss;
    j["seconds"] = {{"reference", ref_seconds}, {"target", got_seconds}};
    if (!match) {
      nlohmann::json m = {{"step", first.step}, {"tensor", first.tensor}, {"index", first.index}};
      if (first.index >= 0) {
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
        "check: %lld exact steps, %s vs %s: all %lld tensors bit-identical after every step "
        "(loss %.6f -> %.6f; %.2f s vs %.2f s)\n",
        (long long)o.steps, ref_name.c_str(), got_name.c_str(), (long long)tensors, first_loss, last_loss,
        ref_seconds, got_seconds);
  } else {
    std::printf("check: MISMATCH at step %lld, tensor %s", (long long)first.step, first.tensor.c_str());
    if (first.index >= 0 && first.is_f32)
      std::printf(" element %lld: %s %.9g (%s) vs %s %.9g (%s)\n", (long long)first.index, ref_name.c_str(),
                  as_float(first.ref), hex(first.ref).c_str(), got_name.c_str(), as_float(first.got),
                  hex(first.got).c_str());
    else if (first.index >= 0)
      std::printf(" element %lld: %s %d vs %s %d\n", (long long)first.index, ref_name.c_str(),
                  (int32_t)first.ref, got_name.c_str(), (int32_t)first.got);
    else
      std::printf(": sizes differ\n");
  }
  return match ? 0 : 1;
}

}  // namespace

void register_check(CLI::App& app) {
  static CheckOptions o;
  auto* check = app.add_subcommand(
      "check",
      "Cross-check devices: the same exact-mode training steps on the CPU and on a target device, compared "
      "bit for bit after every step (exit 1 on a mismatch, 2 if the target is unavailable)");
  check->add_option("--steps", o.steps, "Training steps to run and compare")->capture_default_str();
  check->add_option("--seed", o.seed, "Seed of every random stream")->capture_default_str();
  check->add_option("--batch", o.batch, "Batch size (P×K with K = 4)")->capture_default_str();
  check
      ->add_option("--target", o.target,
                   "Device compared with the CPU reference: cuda, or cpu (thread counts)")
      ->capture_default_str();
  check
      ->add_option(
          "--target-mode", o.target_mode,
          "Numeric mode of the target run: exact, or fast to see where fast mode first departs from exact")
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
