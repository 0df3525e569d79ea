// Experiment outputs over finished run directories (reference code): results.csv/json (one row per run),
// table.md (mean ± sd over seeds, methods × settings) and the self-contained report.html. Written by `prism
// sweep` and `prism compare`; the files are described in docs/experiments.md.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace prism {

// One run of an experiment: where it sits in the grid and its run directory (a finished `prism train` run:
// summary.json present; metrics.jsonl and report/gallery.png are used when there).
struct ExperimentRun {
  std::string method;
  std::string noise_type = "none";  // none | symmetric | small-cluster (NOISE.TYPE)
  double noise_rate = 0;            // the injected rate (0 for none)
  std::string split = "closed";     // DATA.SPLIT
  int64_t seed = 0;
  std::string run_dir;
};

// The coordinates of a run directory, read from its config.yaml.
ExperimentRun experiment_run_of(const std::string& run_dir);

// "symmetric-0.2" / "none": the noise part of a setting, as used in sweep directory names and table columns.
std::string noise_setting_name(const std::string& noise_type, double noise_rate);

struct ExperimentReportOptions {
  std::string title = "prism experiment";
  std::string command;       // the command line that made it (shown on the page)
  int64_t planned_runs = 0;  // cells of the whole grid (0 = as many as given): a partial sweep says so
};

// The four files in `dir`, each written atomically (results.csv, results.json, table.md, report.html). Throws
// prism::Error naming the run directory whose summary.json is missing or unreadable.
void write_experiment_report(const std::string& dir, const std::vector<ExperimentRun>& runs,
                             const ExperimentReportOptions& options = {});

// The pieces, for callers and tests that want one. Run directories in the outputs are written relative to
// `base_dir` when inside it.
std::string experiment_results_csv(const std::vector<ExperimentRun>& runs, const std::string& base_dir);
nlohmann::ordered_json experiment_results_json(const std::vector<ExperimentRun>& runs,
                                               const std::string& base_dir);
std::string experiment_table_md(const std::vector<ExperimentRun>& runs,
                                const ExperimentReportOptions& options);
std::string experiment_report_html(const std::vector<ExperimentRun>& runs, const std::string& base_dir,
                                   const ExperimentReportOptions& options);

}  // namespace prism
