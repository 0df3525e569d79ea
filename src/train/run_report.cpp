// The run directory's reports: metrics log, summary, curves, gallery (reference code; see run_report.hpp).
#include "prism/train/run_report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>

#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"
#include "prism/train/report.hpp"

namespace prism {

namespace {

using json = nlohmann::ordered_json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

json number_or_null(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

// Samples whose P_clean (or score) equals another sample's in the batch: a ranking among them is decided by
// the index alone (float saturation at 0 or 1 shows here; docs/prism.md §10).
int64_t tied_values(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  int64_t tied = 0;
  for (size_t i = 0; i < v.size(); ++i)
    tied += (i > 0 && v[i] == v[i - 1]) || (i + 1 < v.size() && v[i] == v[i + 1]);
  return tied;
}

PlotSeries series_of(const std::vector<json>& records, const char* section, const char* key, const char* name,
                     double scale = 1.0) {
  PlotSeries s;
  s.name = name;
  for (const auto& r : records) {
    const json* src = &r;
    if (section) {
      if (!r.contains(section)) continue;
      src = &r[section];
    }
    if (!src->contains(key)) continue;
    const json& v = (*src)[key];
    s.x.push_back(r["iteration"].get<double>());
    s.y.push_back(v.is_number() ? scale * v.get<double>() : kNaN);
  }
  return s;
}

RgbImage to_rgb(const Image& im) {
  RgbImage out;
  out.width = im.width;
  out.height = im.height;
  out.rgb.resize(static_cast<size_t>(im.width) * im.height * 3);
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x)
      for (int ch = 0; ch < 3; ++ch)
        out.rgb[(static_cast<size_t>(y) * im.width + x) * 3 + ch] = im.at(y, x)[im.channels == 1 ? 0 : ch];
  return out;
}

}  // namespace

json summary_json(const TrainSummary& s) {
  json j;
  j["method"] = s.method;
  j["noise_rate"] = s.noise_rate;
  j["iterations"] = s.iterations;
  j["precision_at_1"] = s.precision_at_1;
  j["map_at_r"] = s.map_at_r;
  j["r_precision"] = s.r_precision;
  j["kept_precision"] = number_or_null(s.kept_precision);
  j["noise_recall"] = number_or_null(s.noise_recall);
  j["train_seconds"] = s.train_seconds;
  j["images_per_second"] = s.images_per_second;
  j["device"] = s.device;
  j["mode"] = s.mode;
  j["seed"] = s.seed;
  return j;
}

// ---- metrics log -------------------------------------------------------------------------------------------

void MetricsLog::load(int64_t iteration) {
  if (!std::filesystem::exists(path_)) return;
  std::istringstream in(read_file(path_));
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("iteration") || !j["iteration"].is_number_integer())
      throw Error(path_ + ":" + std::to_string(line_number) + ": not a metrics record");
    if (j["iteration"].get<int64_t>() <= iteration) records_.push_back(j);
  }
}

void MetricsLog::add(json record) {
  records_.push_back(std::move(record));
  std::string text;
  for (const auto& r : records_) text += r.dump() + "\n";
  write_file_atomic(path_, text);
}

json step_record(const StepResult& r, double images_per_second) {
  json rec;
  rec["iteration"] = r.iteration;
  rec["loss"] = r.loss;
  rec["batch_loss"] = r.batch_loss;
  rec["memory_loss"] = r.has_memory_loss ? json(r.memory_loss) : json(nullptr);
  rec["lr"] = r.lr;
  rec["kept_ratio"] = r.selection.stats.kept_ratio;
  rec["threshold"] = number_or_null(r.selection.threshold);
  rec["kept_precision"] = r.has_noise_flags ? number_or_null(r.selection.stats.precision) : json(nullptr);
  rec["noise_recall"] = r.has_noise_flags ? number_or_null(r.selection.stats.recall) : json(nullptr);
  rec["p_clean_ties"] = r.selection.p_clean.empty() ? json(nullptr) : json(tied_values(r.selection.p_clean));
  rec["memory_size"] = r.memory_size;
  rec["images_per_second"] = images_per_second;
  return rec;
}

json eval_record(int64_t iteration, const dml::RetrievalMetrics& m) {
  json rec;
  rec["iteration"] = iteration;
  rec["eval"] = {{"precision_at_1", m.precision_at_1}, {"map_at_r", m.map_at_r},
                 {"r_precision", m.r_precision},       {"recall_at_1", m.recall_at_1},
                 {"recall_at_8", m.recall_at_8},       {"num_queries", m.num_queries}};
  return rec;
}

// ---- pictures ----------------------------------------------------------------------------------------------

void write_run_plots(const std::string& dir, const std::vector<json>& records) {
  make_directories(dir);
  write_line_plot_svg(
      dir + "/loss.svg", "Training loss", "iteration", "loss",
      {series_of(records, nullptr, "loss", "total"), series_of(records, nullptr, "batch_loss", "batch"),
       series_of(records, nullptr, "memory_loss", "memory")});
  write_line_plot_svg(dir + "/retrieval.svg", "Test retrieval", "iteration", "%",
                      {series_of(records, "eval", "precision_at_1", "P@1", 100),
                       series_of(records, "eval", "map_at_r", "MAP@R", 100),
                       series_of(records, "eval", "r_precision", "R-Precision", 100)});
  write_line_plot_svg(dir + "/kept_ratio.svg", "Share of the batch kept by the loss", "iteration",
                      "kept ratio", {series_of(records, nullptr, "kept_ratio", "kept ratio")});
  write_line_plot_svg(
      dir + "/selection.svg", "Selection against the known noise", "iteration", "%",
      {series_of(records, nullptr, "kept_precision", "kept precision (clean share of kept)", 100),
       series_of(records, nullptr, "noise_recall", "noise recall (noisy removed)", 100)});
}

void write_retrieval_gallery(const std::string& path, const Dataset& test, const std::vector<float>& emb,
                             int64_t dim) {
  const int64_t n = test.size(), queries = std::min<int64_t>(8, n), k = std::min<int64_t>(8, n - 1);
  if (k <= 0) return;
  std::vector<GalleryRow> rows;
  for (int64_t q = 0; q < queries; ++q) {
    const int64_t qi = q * n / queries;
    std::vector<std::pair<float, int64_t>> sims;
    sims.reserve(n);
    for (int64_t j = 0; j < n; ++j) {
      if (j == qi) continue;
      float s = 0;
      for (int64_t d = 0; d < dim; ++d) s += emb[qi * dim + d] * emb[j * dim + d];
      sims.emplace_back(-s, j);
    }
    std::partial_sort(sims.begin(), sims.begin() + k, sims.end());
    GalleryRow row;
    row.query = to_rgb(test.preview(qi));
    for (int64_t r = 0; r < k; ++r) {
      row.results.push_back(to_rgb(test.preview(sims[r].second)));
      row.correct.push_back(test.label(sims[r].second) == test.label(qi));
    }
    rows.push_back(std::move(row));
  }
  write_gallery_png(path, rows, 64);
}

}  // namespace prism
