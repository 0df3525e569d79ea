// prism audit: find the mislabelled samples of a training set. Trains a run (prism::train, the one training
// loop) or reuses a finished one (--run), then scores every sample's label against the final embeddings and
// writes audit.csv / audit.json / audit.html into the run directory (prism/train/audit.hpp, docs/audit.md).
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/runtime_options.hpp"
#include "prism/core/io.hpp"
#include "prism/dml/methods.hpp"
#include "prism/train/audit.hpp"
#include "prism/train/config.hpp"
#include "prism/train/trainer.hpp"

namespace prism::cli {

namespace {

struct AuditArgs {
  std::string config, method, out, run;
  std::vector<std::string> overrides;
  RuntimeOptions runtime;
  int64_t seed = -1;
  AuditRunOptions audit;
  bool json = false, quiet = false, force = false;
};

std::string fixed3(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

void run_audit(AuditArgs& a) {
  if (a.run.empty() == a.config.empty()) throw Error("audit needs --config FILE --out DIR, or --run DIR");
  if (!a.run.empty()) {
    if (!a.overrides.empty() || !a.method.empty() || a.seed >= 0 || a.force)
      throw Error("--run takes the run's own config.yaml; drop --set, --method, --seed and --force");
    if (!a.out.empty() && std::filesystem::path(a.out) != std::filesystem::path(a.run))
      throw Error("--run " + a.run + " writes into that directory; --out must be omitted or the same");
    a.audit.run_dir = a.run;
  } else {
    if (a.out.empty()) throw Error("audit --config needs --out DIR (the run directory to train into)");
    std::vector<std::string> overrides = a.overrides;
    overrides.push_back("DATA.MISSING_IMAGES=error");  // every entry is judged: a missing image is an error
    if (!a.method.empty()) overrides.push_back("NOISE.METHOD=" + a.method);
    if (!a.runtime.device.empty()) overrides.push_back("RUN.DEVICE=" + a.runtime.device);
    if (!a.runtime.mode.empty()) overrides.push_back("RUN.MODE=" + a.runtime.mode);
    if (a.runtime.threads >= 0) overrides.push_back("RUN.THREADS=" + std::to_string(a.runtime.threads));
    if (a.seed >= 0) overrides.push_back("SEED=" + std::to_string(a.seed));
    std::vector<std::string> warnings;
    const Config cfg = load_config(a.config, overrides, &warnings);
    for (const std::string& w : warnings) std::fprintf(stderr, "prism: warning: %s\n", w.c_str());
    audit_scorer(a.audit.scoring.scorer);  // a bad --scorer before the (long) training
    TrainOptions t;
    t.out_dir = a.out;
    t.overwrite = a.force;
    t.progress = !a.quiet;
    try {
      train(cfg, t);
    } catch (const Error& e) {
      throw Error(audit_error_text(e.what()));
    }
    a.audit.run_dir = a.out;
  }
  a.audit.device = a.runtime.device;
  a.audit.mode = a.runtime.mode;
  a.audit.threads = a.runtime.threads;
  const AuditSummary s = audit_run(a.audit);
  if (a.json) {
    std::printf("%s", read_file(s.out_dir + "/audit.json").c_str());
    return;
  }
  std::printf("audit: %lld samples, %lld flagged (estimated noise rate %.1f%%)\n",
              static_cast<long long>(s.samples), static_cast<long long>(s.flagged),
              100 * s.estimated_noise_rate);
  if (s.has_noise_flags)
    std::printf("against the %lld known noisy labels: AUROC %s  precision %s  recall %s  F1 %s\n",
                static_cast<long long>(s.metrics.noisy), fixed3(s.metrics.auroc).c_str(),
                fixed3(s.metrics.precision).c_str(), fixed3(s.metrics.recall).c_str(),
                fixed3(s.metrics.f1).c_str());
  std::printf("written: %s/audit.csv (every sample, worst first), audit.json, audit.html\n",
              s.out_dir.c_str());
}

}  // namespace

void register_audit(CLI::App& app) {
  static AuditArgs a;
  auto* cmd = app.add_subcommand(
      "audit", "Find the mislabelled samples of a training set: train (or reuse a run), score every label");
  cmd->add_option("--config", a.config, "YAML config to train with (then scores its training set)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", a.overrides, "Override a config key: KEY=VALUE (repeatable)");
  cmd->add_option("--method", a.method, dml::method_names_text(" | ") + " (overrides NOISE.METHOD)")
      ->check(CLI::IsMember(dml::method_names()));
  cmd->add_option("--seed", a.seed, "Seed of every random stream (overrides SEED)")
      ->check(nonnegative_number());
  cmd->add_option("--out", a.out, "Run directory to train into; the audit files are written there too");
  cmd->add_option("--run", a.run, "Audit this finished run directory instead of training");
  add_runtime_options(cmd, a.runtime);
  std::string scorers;
  for (const std::string& name : audit_scorer_names()) scorers += (scorers.empty() ? "" : " | ") + name;
  cmd->add_option("--scorer", a.audit.scoring.scorer,
                  "Label scorer: " + scorers + " (default " + AuditOptions{}.scorer + ")")
      ->check(CLI::IsMember(audit_scorer_names()));
  cmd->add_option("--k", a.audit.scoring.k, "Neighbours per sample (knn scorers, default 50)")
      ->check(positive_number());
  cmd->add_option("--temperature", a.audit.scoring.temperature,
                  "Softmax temperature of the weighted knn scorers and center (default 0.1)")
      ->check(positive_number());
  cmd->add_option("--flag-ratio", a.audit.scoring.flag_ratio,
                  "Flag a label whose support is below this share of its class's mean support (default 0.5)")
      ->check(nonnegative_number());
  cmd->add_option("--show", a.audit.show, "Suspects on the page (default 60)")->check(nonnegative_number());
  cmd->add_flag("--json", a.json, "Print audit.json's object on stdout");
  cmd->add_flag("--quiet", a.quiet, "No training progress display");
  cmd->add_flag("--force", a.force, "Train afresh where --out already holds a run");
  cmd->callback([] { run_audit(a); });
}

}  // namespace prism::cli
