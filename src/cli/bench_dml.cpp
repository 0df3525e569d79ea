// prism bench dml: one selection step (memory refresh + clean probability + ranking, and the enqueue) at the
// official CARS-98N size, center form vs full form, and the retrieval evaluation of 10 000 × 10 000 × 128,
// in exact and fast mode. Timings are medians measured in the same run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/runtime_options.hpp"
#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/random.hpp"
#include "prism/core/timing.hpp"
#include "prism/dml/metrics.hpp"
#include "prism/dml/sampler.hpp"
#include "prism/dml/selector.hpp"

namespace prism::cli {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

Tensor random_unit(int64_t rows, int64_t dim, uint64_t seed, DeviceType device) {
  Rng rng(seed, RngStream::test);
  std::vector<float> v(rows * dim);
  for (auto& x : v) x = rng.uniform(-1.0f, 1.0f);
  NoGradGuard no_grad;
  return l2_normalize(Tensor::from_vector({rows, dim}, v, device));
}

struct SelectionTiming {
  double select_ms, enqueue_ms, step_ms;
  double classes_refreshed;
};

// Steady state of training: the bank is filled by P×K batches, then each step selects on a new batch (centers
// of the classes changed by the last enqueue are refreshed inside select) and enqueues it.
SelectionTiming time_selection(dml::CleanForm form, DeviceType device, int64_t steps) {
  const int64_t K = 9500, d = 512, C = 98, batch = 64, inst = 4;
  std::vector<int32_t> dataset_labels(C * 80);
  for (size_t i = 0; i < dataset_labels.size(); ++i) dataset_labels[i] = static_cast<int32_t>(i % C);
  dml::PKSampler sampler(dataset_labels, batch, inst, 0);
  dml::MemoryBank bank(K, d, static_cast<int32_t>(C), device);
  std::vector<Tensor> pool;
  for (int i = 0; i < 16; ++i) pool.push_back(random_unit(batch, d, 1000 + i, device));
  for (int64_t b = 0; b < K / batch + 2; ++b) bank.enqueue(pool[b % pool.size()], sampler.next().labels, {});
  dml::SelectorConfig cfg;
  cfg.form = form;
  dml::Selector selector(cfg);
  std::vector<double> sel, enq, step, refreshed;
  for (int64_t s = 0; s < steps; ++s) {
    const dml::PKBatch pk = sampler.next();
    const Tensor& f = pool[s % pool.size()];
    auto t0 = Clock::now();
    bank.centers();  // counted inside select for the center form; here only to read how many classes changed
    const double refresh = ms_since(t0);
    refreshed.push_back(static_cast<double>(bank.classes_refreshed_last()));
    auto t1 = Clock::now();
    const dml::Selection out = selector.select(s, f, pk.labels, &bank);
    sel.push_back(ms_since(t1) + (form == dml::CleanForm::center ? refresh : 0.0));
    auto t2 = Clock::now();
    bank.enqueue(f, pk.labels, {}, out.keep);
    enq.push_back(ms_since(t2));
    step.push_back(sel.back() + enq.back());
  }
  return {median(sel), median(enq), median(step), median(refreshed)};
}

double time_eval(DeviceType device, int repeats) {
  const int64_t n = 10000, d = 128;
  Tensor e = random_unit(n, d, 7, device);
  std::vector<int32_t> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<int32_t>(i % 100);
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = Clock::now();
    dml::evaluate_retrieval(e, y);
    t.push_back(ms_since(t0) / 1000.0);
  }
  return median(t);
}

}  // namespace

void register_bench_dml(CLI::App* bench) {
  static bool json = false;
  static int64_t steps = 200;
  static int eval_repeats = 3;
  static RuntimeOptions rt;
  auto* cmd = bench->add_subcommand(
      "dml", "Selection step (n=64, K=9500, d=512, C=98; center vs full form) and eval (10k × 10k × 128)");
  cmd->add_flag("--json", json, "Print one JSON object on stdout");
  // At least one of each: the medians of empty timing lists read past the end.
  cmd->add_option("--steps", steps, "Selection steps timed per configuration")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  cmd->add_option("--eval-repeats", eval_repeats, "Evaluations timed per mode")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  add_runtime_options(cmd, rt, /*with_mode=*/false);
  cmd->callback([] {
    const DeviceType device = apply_runtime_options(rt);
    const Mode saved = mode();
    nlohmann::json result;
    result["device"] = device_name(device);
    result["threads"] = num_threads();
    result["selection"] = {{"n", 64}, {"memory", 9500}, {"dim", 512}, {"classes", 98}, {"steps", steps}};
    for (Mode m : {Mode::exact, Mode::fast}) {
      ScopedMode sm(m);
      const SelectionTiming c = time_selection(dml::CleanForm::center, device, steps);
      const SelectionTiming f = time_selection(dml::CleanForm::full, device, steps);
      result["selection"][mode_name(m)] = {{"center_select_ms", c.select_ms},
                                           {"full_select_ms", f.select_ms},
                                           {"enqueue_ms", c.enqueue_ms},
                                           {"center_step_ms", c.step_ms},
                                           {"full_step_ms", f.step_ms},
                                           {"full_over_center", f.select_ms / c.select_ms},
                                           {"classes_refreshed_per_step", c.classes_refreshed}};
      result["eval_seconds"][mode_name(m)] = time_eval(device, eval_repeats);
    }
    set_mode(saved);
    result["eval"] = {
        {"queries", 10000}, {"gallery", 10000}, {"dim", 128}, {"classes", 100}, {"repeats", eval_repeats}};
    if (json) {
      std::printf("%s\n", result.dump(2).c_str());
      return;
    }
    std::printf("selection step, n = 64, K = 9500, d = 512, C = 98 (%s, %d threads), median of %lld steps\n",
                device_name(device), num_threads(), static_cast<long long>(steps));
    std::printf("%6s %14s %14s %10s %12s\n", "mode", "center ms", "full ms", "full/ctr", "enqueue ms");
    for (const char* m : {"exact", "fast"}) {
      const auto& s = result["selection"][m];
      std::printf("%6s %14.3f %14.3f %10.1f %12.3f\n", m, s["center_select_ms"].get<double>(),
                  s["full_select_ms"].get<double>(), s["full_over_center"].get<double>(),
                  s["enqueue_ms"].get<double>());
    }
    std::printf("eval 10000 × 10000 × 128: exact %.2f s, fast %.2f s (median of %d)\n",
                result["eval_seconds"]["exact"].get<double>(), result["eval_seconds"]["fast"].get<double>(),
                eval_repeats);
  });
}

}  // namespace prism::cli
