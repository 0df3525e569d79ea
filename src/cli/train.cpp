// prism train / prism compare: run PRISM experiments from a YAML config (plus --set overrides) into run
// directories, resume interrupted runs, and print a side-by-side table of methods.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/runtime_options.hpp"
#include "prism/core/runtime.hpp"
#include "prism/dml/methods.hpp"
#include "prism/train/config.hpp"
#include "prism/train/experiment_report.hpp"
#include "prism/train/trainer.hpp"

namespace prism::cli {

namespace {

struct TrainArgs {
  std::string config, method, out, resume, methods = "xbm,prism";
  std::vector<std::string> overrides;
  RuntimeOptions runtime;
  int64_t seed = -1, stop_after = -1;
  bool json = false, quiet = false, force = false;
};

void add_common(CLI::App* cmd, TrainArgs& a) {
  cmd->add_option("--config", a.config, "YAML config (official key names, see docs/config.md)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", a.overrides,
                  "Override a config key: KEY=VALUE (repeatable), e.g. SOLVER.BASE_LR=1e-3");
  // Checked here so that a bad value is reported against the flag given, not as the --set it becomes, and a
  // negative number is an error instead of the "not given" default (-1).
  cmd->add_option("--device", a.runtime.device, "cpu or cuda (overrides RUN.DEVICE)")
      ->check(device_choices());
  cmd->add_option("--mode", a.runtime.mode, "exact or fast (overrides RUN.MODE)")->check(mode_choices());
  cmd->add_option("--threads", a.runtime.threads, "Host threads, 0 = all (overrides RUN.THREADS)")
      ->check(nonnegative_number());
  cmd->add_option("--seed", a.seed, "Seed of every random stream (overrides SEED)")
      ->check(nonnegative_number());
  cmd->add_flag("--quiet", a.quiet, "No progress display");
  cmd->add_flag("--force", a.force,
                "Start afresh where --out already holds a run (its outputs are replaced)");
}

// Defaults + file + --set + the dedicated flags (validated where the run starts: prism::train).
Config resolve_config(const TrainArgs& a, const std::string& method) {
  std::vector<std::string> overrides = a.overrides;
  if (!method.empty()) overrides.push_back("NOISE.METHOD=" + method);
  if (!a.runtime.device.empty()) overrides.push_back("RUN.DEVICE=" + a.runtime.device);
  if (!a.runtime.mode.empty()) overrides.push_back("RUN.MODE=" + a.runtime.mode);
  if (a.runtime.threads >= 0) overrides.push_back("RUN.THREADS=" + std::to_string(a.runtime.threads));
  if (a.seed >= 0) overrides.push_back("SEED=" + std::to_string(a.seed));
  std::vector<std::string> warnings;
  Config c = load_config(a.config, overrides, &warnings);
  for (const std::string& w : warnings) std::fprintf(stderr, "prism: warning: %s\n", w.c_str());
  return c;
}

std::string percent(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", 100 * v);
  return buf;
}

void print_table(const std::vector<TrainSummary>& runs) {
  std::printf("\n%-12s %7s %7s %7s %15s %14s %8s %9s\n", "method", "P@1", "MAP@R", "RP", "kept precision",
              "noisy removed", "img/s", "train s");
  for (const TrainSummary& s : runs)
    std::printf("%-12s %7s %7s %7s %15s %14s %8.0f %9.1f\n", s.method.c_str(),
                percent(s.precision_at_1).c_str(), percent(s.map_at_r).c_str(),
                percent(s.r_precision).c_str(), percent(s.kept_precision).c_str(),
                percent(s.noise_recall).c_str(), s.images_per_second, s.train_seconds);
  std::printf(
      "(percentages; kept precision = clean share of the samples the loss kept, noisy removed = share of "
      "the\n"
      " noisy samples that selection removed, both over the iterations with memory; test retrieval on the\n"
      " final model)\n");
}

}  // namespace

void register_train(CLI::App& app) {
  static TrainArgs a;
  auto* cmd = app.add_subcommand("train", "Train an embedding with PRISM (or a baseline) and evaluate it");
  add_common(cmd, a);
  cmd->add_option("--method", a.method, dml::method_names_text(" | ") + " (overrides NOISE.METHOD)")
      ->check(CLI::IsMember(dml::method_names()));
  cmd->add_option("--out", a.out, "Run directory (config, metrics.jsonl, checkpoint, summary, report/)");
  cmd->add_option("--resume", a.resume, "Continue the run in this directory from its checkpoint");
  cmd->add_option("--stop-after", a.stop_after,
                  "End after this many iterations with the checkpoint written (resume finishes the schedule)")
      ->check(nonnegative_number());
  cmd->add_flag("--json", a.json, "Print summary.json's object on stdout");
  cmd->callback([] {
    TrainOptions opt;
    opt.stop_after = a.stop_after;
    opt.progress = !a.quiet;
    Config cfg;
    if (!a.resume.empty()) {
      if (!a.config.empty() || !a.overrides.empty() || !a.method.empty() || a.seed >= 0 ||
          !a.runtime.mode.empty())
        throw Error(
            "--resume takes the run's own config.yaml; drop --config, --set, --method, --seed and --mode");
      if (!a.out.empty() && std::filesystem::path(a.out) != std::filesystem::path(a.resume))
        throw Error("--resume " + a.resume +
                    " writes into that directory; --out must be omitted or the same");
      cfg = load_run_config(a.resume);
      if (!a.runtime.device.empty()) cfg.run.device = a.runtime.device;
      if (a.runtime.threads >= 0) cfg.run.threads = a.runtime.threads;
      opt.out_dir = a.resume;
      opt.resume = true;
    } else {
      if (a.config.empty()) throw Error("train needs --config FILE (or --resume DIR)");
      if (a.out.empty()) throw Error("train needs --out DIR");
      cfg = resolve_config(a, a.method);
      opt.out_dir = a.out;
      opt.overwrite = a.force;
    }
    const TrainSummary s = train(cfg, opt);
    if (!s.finished) return;
    if (a.json) {
      std::ifstream in(s.out_dir + "/summary.json");
      std::stringstream ss;
      ss << in.rdbuf();
      std::printf("%s", ss.str().c_str());
    } else {
      print_table({s});
      std::printf("run directory: %s (summary.json, metrics.jsonl, report/)\n", s.out_dir.c_str());
    }
  });

  static TrainArgs c;
  auto* cmp =
      app.add_subcommand("compare", "Train several methods with one config and print them side by side");
  add_common(cmp, c);
  cmp->add_option("--methods", c.methods, "Comma-separated methods (default xbm,prism)");
  cmp->add_option("--out", c.out, "Parent directory: one run directory per method inside it")->required();
  cmp->callback([] {
    if (c.config.empty()) throw Error("compare needs --config FILE");
    std::vector<std::string> methods;
    std::stringstream ss(c.methods);
    for (std::string m; std::getline(ss, m, ',');)
      if (!m.empty()) methods.push_back(m);
    if (methods.empty()) throw Error("--methods is empty");
    // Checked before any run: a repeated method would train into the same run directory twice and fail only
    // after the first run finished.
    for (size_t i = 0; i < methods.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (methods[i] == methods[j]) throw Error("--methods lists '" + methods[i] + "' twice");
    std::vector<Config> configs;
    for (const std::string& m : methods) {
      configs.push_back(resolve_config(c, m));
      validate_config(configs.back());  // every config's errors before the first (long) run starts
    }
    std::vector<TrainSummary> runs;
    for (size_t i = 0; i < methods.size(); ++i) {
      TrainOptions opt;
      opt.out_dir = c.out + "/" + methods[i];
      opt.progress = !c.quiet;
      opt.overwrite = c.force;
      runs.push_back(train(configs[i], opt));
    }
    print_table(runs);
    // The same page and tables as `prism sweep` writes, read back from the run directories.
    std::vector<ExperimentRun> done;
    for (const TrainSummary& s : runs) done.push_back(experiment_run_of(s.out_dir));
    ExperimentReportOptions report;
    report.title = "prism compare: " + std::filesystem::path(c.config).stem().string();
    report.command = "prism compare --config " + c.config + " --methods " + c.methods + " --out " + c.out;
    write_experiment_report(c.out, done, report);
    std::printf(
        "run directories: %s/{%s} — each has summary.json, metrics.jsonl and report/ "
        "(loss.svg, retrieval.svg, kept_ratio.svg, selection.svg, gallery.png)\n"
        "all runs on one page: %s/report.html (and results.csv, results.json, table.md)\n",
        c.out.c_str(), c.methods.c_str(), c.out.c_str());
  });
}

}  // namespace prism::cli
