// The experiment outputs over finished run directories: results.csv/json, table.md, report.html (reference
// code; see experiment_report.hpp). Everything is read back from the run directories, so the same page comes out
// of a sweep, a compare, or runs gathered by hand.
#include "prism/train/experiment_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"
#include "prism/train/config.hpp"
#include "prism/train/report.hpp"

namespace prism {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The grid coordinates come first in every row; summary.json's own copies of them are not repeated.
const char* kCoordinateColumns[] = {"method", "noise_type", "noise_rate", "split", "seed"};
bool is_coordinate(const std::string& key) {
  for (const char* c : kCoordinateColumns)
    if (key == c) return true;
  return false;
}

struct LoadedRun {
  ExperimentRun at;
  json summary;
  std::vector<json> records;  // metrics.jsonl (empty when absent)
  std::string gallery_png;    // report/gallery.png bytes (empty when absent)
};

std::vector<LoadedRun> load_runs(const std::vector<ExperimentRun>& runs) {
  std::vector<LoadedRun> out;
  for (const ExperimentRun& r : runs) {
    LoadedRun l;
    l.at = r;
    const std::string summary_path = r.run_dir + "/summary.json";
    if (!fs::exists(summary_path))
      throw Error("experiment report: " + r.run_dir + " has no summary.json (the run has not finished)");
    l.summary = json::parse(read_file(summary_path), nullptr, false);
    if (l.summary.is_discarded() || !l.summary.is_object())
      throw Error("experiment report: " + summary_path + " is not a JSON object");
    if (fs::exists(r.run_dir + "/metrics.jsonl")) {
      std::istringstream in(read_file(r.run_dir + "/metrics.jsonl"));
      for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        json j = json::parse(line, nullptr, false);
        if (j.is_object() && j.contains("iteration")) l.records.push_back(std::move(j));
      }
    }
    if (fs::exists(r.run_dir + "/report/gallery.png"))
      l.gallery_png = read_file(r.run_dir + "/report/gallery.png");
    out.push_back(std::move(l));
  }
  return out;
}

std::string shown_dir(const std::string& run_dir, const std::string& base_dir) {
  if (base_dir.empty()) return run_dir;
  std::error_code ec;
  const fs::path run = fs::weakly_canonical(run_dir, ec), base = fs::weakly_canonical(base_dir, ec);
  const fs::path rel = run.lexically_relative(base);
  if (ec || rel.empty() || *rel.begin() == "..") return run_dir;
  return rel.string();
}

// A setting: the noise and the split (a column of the tables, a chart of curves).
struct Setting {
  std::string split, noise_type;
  double rate = 0;
  bool operator<(const Setting& o) const {
    auto type_rank = [](const std::string& t) {
      return t == "none" ? 0 : t == "symmetric" ? 1 : t == "small-cluster" ? 2 : 3;
    };
    auto key = [&](const Setting& s) {
      return std::make_tuple(s.split != "closed", s.split, type_rank(s.noise_type), s.noise_type, s.rate);
    };
    return key(*this) < key(o);
  }
  bool operator==(const Setting& o) const = default;
  std::string name() const { return noise_setting_name(noise_type, rate) + " / " + split; }
};
Setting setting_of(const ExperimentRun& r) {
  return {r.split, r.noise_type, r.noise_type == "none" ? 0.0 : r.noise_rate};
}

std::vector<std::string> methods_in_order(const std::vector<LoadedRun>& runs) {
  std::vector<std::string> m;
  for (const auto& r : runs)
    if (std::find(m.begin(), m.end(), r.at.method) == m.end()) m.push_back(r.at.method);
  return m;
}

std::vector<Setting> settings_in_order(const std::vector<LoadedRun>& runs) {
  std::set<Setting> s;
  for (const auto& r : runs) s.insert(setting_of(r.at));
  return {s.begin(), s.end()};
}

double number_of(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : kNaN;
}

struct Stat {
  double mean = kNaN, sd = kNaN;
  int n = 0;
};

// Mean and sample standard deviation (n − 1) of the finite values.
Stat stat_of(const std::vector<double>& v) {
  Stat s;
  double sum = 0;
  for (double x : v)
    if (std::isfinite(x)) sum += x, ++s.n;
  if (s.n == 0) return s;
  s.mean = sum / s.n;
  double ss = 0;
  for (double x : v)
    if (std::isfinite(x)) ss += (x - s.mean) * (x - s.mean);
  s.sd = s.n > 1 ? std::sqrt(ss / (s.n - 1)) : 0.0;
  return s;
}

Stat cell_stat(const std::vector<LoadedRun>& runs, const std::string& method, const Setting& st,
               const char* key) {
  std::vector<double> v;
  for (const auto& r : runs)
    if (r.at.method == method && setting_of(r.at) == st) v.push_back(number_of(r.summary, key));
  return stat_of(v);
}

std::string fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

struct TableMetric {
  const char* key;
  const char* title;
};
const TableMetric kTableMetrics[] = {
    {"precision_at_1", "P@1"},
    {"map_at_r", "MAP@R"},
    {"kept_precision", "Kept precision (clean share of the samples the loss kept)"},
    {"noise_recall", "Noise recall (share of the noisy samples removed)"},
};

// One table: rows = methods, columns = settings; each cell "mean ± sd" in percent (2 decimals), the best mean of
// each column marked (bold). `markdown` picks the syntax.
std::string metric_table(const std::vector<LoadedRun>& runs, const TableMetric& m, bool markdown) {
  const auto methods = methods_in_order(runs);
  const auto settings = settings_in_order(runs);
  int most_seeds = 0;
  for (const auto& me : methods)
    for (const auto& st : settings)
      most_seeds = std::max(most_seeds, cell_stat(runs, me, st, "precision_at_1").n);
  std::vector<std::string> best(settings.size());
  for (size_t c = 0; c < settings.size(); ++c) {
    double top = -INFINITY;
    for (const auto& me : methods) {
      const Stat s = cell_stat(runs, me, settings[c], m.key);
      if (s.n > 0) top = std::max(top, s.mean);
    }
    if (std::isfinite(top)) best[c] = fixed2(100 * top);
  }
  std::ostringstream o;
  if (markdown) {
    o << "| method |";
    for (const auto& st : settings) o << ' ' << st.name() << " |";
    o << "\n|---|";
    for (size_t c = 0; c < settings.size(); ++c) o << "---:|";
    o << '\n';
  } else {
    o << "<table><tr><th>method</th>";
    for (const auto& st : settings) o << "<th>" << st.name() << "</th>";
    o << "</tr>\n";
  }
  for (const auto& me : methods) {
    o << (markdown ? "| " + me + " |" : "<tr><th>" + me + "</th>");
    for (size_t c = 0; c < settings.size(); ++c) {
      const Stat s = cell_stat(runs, me, settings[c], m.key);
      std::string text = "–";
      bool bold = false;
      if (s.n > 0) {
        text = fixed2(100 * s.mean);
        if (s.n > 1) text += " ± " + fixed2(100 * s.sd);
        if (s.n != most_seeds) text += " (n=" + std::to_string(s.n) + ")";
        bold = fixed2(100 * s.mean) == best[c] && methods.size() > 1;
      }
      if (markdown)
        o << ' ' << (bold ? "**" + text + "**" : text) << " |";
      else
        o << (bold ? "<td class=\"best\">" : "<td>") << text << "</td>";
    }
    o << (markdown ? "\n" : "</tr>\n");
  }
  if (!markdown) o << "</table>\n";
  return o.str();
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string csv_value(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return csv_field(v.get<std::string>());
  return v.dump();  // the same shortest round-trip text as in summary.json
}

// The rows of results.csv/json: coordinates, then the summary's fields in its order, then the run directory.
std::vector<json> result_rows(const std::vector<LoadedRun>& runs, const std::string& base_dir) {
  std::vector<json> rows;
  for (const auto& r : runs) {
    json row;
    row["method"] = r.at.method;
    row["noise_type"] = r.at.noise_type;
    row["noise_rate"] = r.at.noise_type == "none" ? 0.0 : r.at.noise_rate;
    row["split"] = r.at.split;
    row["seed"] = r.at.seed;
    for (const auto& [k, v] : r.summary.items())
      if (!is_coordinate(k)) row[k] = v;
    row["run_dir"] = shown_dir(r.at.run_dir, base_dir);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string csv_of(const std::vector<LoadedRun>& runs, const std::string& base_dir) {
  const auto rows = result_rows(runs, base_dir);
  std::vector<std::string> columns(std::begin(kCoordinateColumns), std::end(kCoordinateColumns));
  for (const auto& row : rows)
    for (const auto& [k, v] : row.items())
      if (k != "run_dir" && std::find(columns.begin(), columns.end(), k) == columns.end())
        columns.push_back(k);
  columns.push_back("run_dir");
  std::ostringstream o;
  for (size_t i = 0; i < columns.size(); ++i) o << (i ? "," : "") << columns[i];
  o << '\n';
  for (const auto& row : rows) {
    for (size_t i = 0; i < columns.size(); ++i)
      o << (i ? "," : "") << (row.contains(columns[i]) ? csv_value(row[columns[i]]) : "");
    o << '\n';
  }
  return o.str();
}

std::string table_md_of(const std::vector<LoadedRun>& runs, const ExperimentReportOptions& options) {
  std::ostringstream o;
  o << "# " << options.title << "\n\n";
  o << runs.size() << " finished run" << (runs.size() == 1 ? "" : "s");
  if (options.planned_runs > static_cast<int64_t>(runs.size()))
    o << " of " << options.planned_runs << " planned";
  o << ". Mean ± sample standard deviation over seeds, in percent, of the final model; the best mean of each "
       "column in bold; (n=k) where a cell has fewer seeds than the others. Columns: noise type-rate / "
       "split.\n";
  for (const auto& m : kTableMetrics) o << "\n## " << m.title << "\n\n" << metric_table(runs, m, true);
  return o.str();
}

// ---- the page ------------------------------------------------------------------------------------------------

std::string base64(const std::string& bytes) {
  static const char* tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t a = static_cast<uint8_t>(bytes[i]);
    const uint32_t b = i + 1 < bytes.size() ? static_cast<uint8_t>(bytes[i + 1]) : 0;
    const uint32_t c = i + 2 < bytes.size() ? static_cast<uint8_t>(bytes[i + 2]) : 0;
    const uint32_t v = a << 16 | b << 8 | c;
    out += tab[v >> 18 & 63];
    out += tab[v >> 12 & 63];
    out += i + 1 < bytes.size() ? tab[v >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? tab[v & 63] : '=';
  }
  return out;
}

// The curve `key` (in `section` when given, e.g. "eval") of one run as (iteration, value·scale) pairs.
std::map<double, double> curve_of(const LoadedRun& r, const char* section, const char* key, double scale) {
  std::map<double, double> c;
  for (const auto& rec : r.records) {
    const json* src = &rec;
    if (section) {
      if (!rec.contains(section)) continue;
      src = &rec[section];
    }
    if (!src->contains(key) || !(*src)[key].is_number() || !rec["iteration"].is_number()) continue;
    c[rec["iteration"].get<double>()] = scale * (*src)[key].get<double>();
  }
  return c;
}

// One method's curve in a setting: the mean over its seeds at the iterations every seed logged.
PlotSeries mean_curve(const std::vector<LoadedRun>& runs, const std::string& method, const Setting& st,
                      const char* section, const char* key, double scale) {
  std::map<double, std::pair<double, int>> acc;
  int seeds = 0;
  for (const auto& r : runs) {
    if (r.at.method != method || !(setting_of(r.at) == st)) continue;
    ++seeds;
    for (const auto& [x, y] : curve_of(r, section, key, scale)) acc[x].first += y, acc[x].second += 1;
  }
  PlotSeries s;
  s.name = method + (seeds > 1 ? " (mean of " + std::to_string(seeds) + " seeds)" : "");
  for (const auto& [x, sum_n] : acc)
    if (sum_n.second == seeds) s.x.push_back(x), s.y.push_back(sum_n.first / seeds);
  return s;
}

// The charts of retrieval against the noise rate, one per metric (P@1, MAP@R) × noise type × split, with error
// bars over seeds; a `none` setting is every type's rate 0. (file stem, SVG): the page shows them and
// write_experiment_report also writes them as figures/STEM.svg.
std::vector<std::pair<std::string, std::string>> noise_rate_charts(const std::vector<LoadedRun>& runs) {
  const auto methods = methods_in_order(runs);
  const auto settings = settings_in_order(runs);
  std::vector<std::pair<std::string, std::string>> charts;
  std::set<std::pair<std::string, std::string>> groups;  // (split, noise type)
  for (const auto& st : settings)
    if (st.noise_type != "none") groups.insert({st.split, st.noise_type});
  if (groups.empty())
    for (const auto& st : settings) groups.insert({st.split, st.noise_type});
  for (const auto& [split, type] : groups)
    for (const auto& m : {kTableMetrics[0], kTableMetrics[1]}) {
      std::vector<PlotSeries> series;
      double top_rate = 0;
      for (const auto& st : settings) top_rate = std::max(top_rate, 100 * st.rate);
      for (size_t k = 0; k < methods.size(); ++k) {
        const std::string& me = methods[k];
        PlotSeries s;
        s.name = me;
        // Methods are shifted a little apart so that their error bars at one rate do not cover each other.
        const double dodge = (static_cast<double>(k) - 0.5 * static_cast<double>(methods.size() - 1)) *
                             0.008 * std::max(top_rate, 10.0);
        for (const auto& st : settings) {
          if (st.split != split || (st.noise_type != type && st.noise_type != "none")) continue;
          const Stat v = cell_stat(runs, me, st, m.key);
          if (v.n == 0) continue;
          s.x.push_back(100 * st.rate + dodge);
          s.y.push_back(100 * v.mean);
          s.err.push_back(100 * v.sd);
        }
        series.push_back(std::move(s));
      }
      const std::string metric = m.key == std::string("map_at_r") ? "MAP@R" : "P@1";
      charts.push_back({std::string(m.key) + "-" + type + "-" + split,
                        line_plot_svg(metric + " — " + type + " noise, " + split + " split", "noise rate (%)",
                                      metric + " (%)", series, 0.0)});
    }
  return charts;
}

// The page; `charts` = noise_rate_charts(runs), drawn once by the caller that also writes them as files.
std::string html_of(const std::vector<LoadedRun>& runs, const std::string& base_dir,
                    const ExperimentReportOptions& options,
                    const std::vector<std::pair<std::string, std::string>>& charts) {
  const auto methods = methods_in_order(runs);
  const auto settings = settings_in_order(runs);
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"
    << escape_markup(options.title)
    << "</title>\n<style>\n"
       "body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}\n"
       "h1{font-size:22px} h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc} "
       "h3{font-size:15px}\n"
       "table{border-collapse:collapse;margin:8px 0 16px} td,th{border:1px solid #ccc;padding:3px 8px;"
       "font-size:13px} td{text-align:right;font-variant-numeric:tabular-nums} th{background:#f3f3f3}\n"
       "td.best{font-weight:bold;background:#e8f4e8}\n"
       ".charts{display:flex;flex-wrap:wrap;gap:12px} .charts svg{border:1px solid #eee}\n"
       ".note{color:#555;font-size:13px} code{background:#f3f3f3;padding:1px 4px}\n"
       "figure{margin:0 12px 12px 0;display:inline-block} figcaption{font-size:13px}\n"
       // Three galleries to a row; nearest-neighbour scaling keeps the small images sharp.
       "figure img{width:420px;image-rendering:pixelated}\n"
       "</style></head><body>\n";
  o << "<h1>" << escape_markup(options.title) << "</h1>\n<p class=\"note\">" << runs.size() << " finished run"
    << (runs.size() == 1 ? "" : "s");
  if (options.planned_runs > static_cast<int64_t>(runs.size()))
    o << " of " << options.planned_runs
      << " planned (a partial sweep: the page is rewritten after every run)";
  o << "; methods: " << escape_markup([&] {
    std::string s;
    for (const auto& m : methods) s += (s.empty() ? "" : ", ") + m;
    return s;
  }())
    << ". All numbers are the final model's test retrieval, in percent; mean ± sample standard deviation "
       "over seeds; the best mean of each column is bold.";
  if (!options.command.empty()) o << "<br>Made by <code>" << escape_markup(options.command) << "</code>";
  o << "</p>\n";

  o << "<h2>Results</h2>\n";
  for (const auto& m : kTableMetrics) o << "<h3>" << m.title << "</h3>\n" << metric_table(runs, m, false);

  o << "<h2>Retrieval against the noise rate</h2>\n<p class=\"note\">Error bars: ± one standard deviation "
       "over seeds. The clean setting (noise none) is drawn at rate 0 of every noise type.</p>\n<div "
       "class=\"charts\">\n";
  for (const auto& chart : charts) o << chart.second;
  o << "</div>\n";

  o << "<h2>Training curves</h2>\n<p class=\"note\">Per setting, every method overlaid (mean over seeds): "
       "the "
       "training loss (batch + memory) and the test P@1 of the periodic evaluations (VALIDATION.VERBOSE) and "
       "the "
       "final one.</p>\n";
  for (const auto& st : settings) {
    std::vector<PlotSeries> loss, p1;
    for (const auto& me : methods) {
      loss.push_back(mean_curve(runs, me, st, nullptr, "loss", 1));
      p1.push_back(mean_curve(runs, me, st, "eval", "precision_at_1", 100));
    }
    o << "<h3>" << escape_markup(st.name()) << "</h3>\n<div class=\"charts\">\n"
      << line_plot_svg("Training loss — " + st.name(), "iteration", "loss", loss)
      << line_plot_svg("Test P@1 — " + st.name(), "iteration", "P@1 (%)", p1) << "</div>\n";
  }

  o << "<h2>Selection against the known noise</h2>\n<p class=\"note\">Per logged iteration (RUN.LOG_EVERY), "
       "over "
       "the batch: kept precision = clean share of the samples the loss kept; noise recall = share of the "
       "batch's "
       "noisy samples that selection removed. Methods without selection keep everything (noise recall 0) "
       "and, "
       "with the same seeds, see the same batches, so their lines coincide and the last one drawn hides the "
       "others; "
       "without noise flags there is nothing to draw.</p>\n";
  for (const auto& st : settings) {
    if (st.noise_type == "none") continue;
    std::vector<PlotSeries> kept, recall;
    for (const auto& me : methods) {
      kept.push_back(mean_curve(runs, me, st, nullptr, "kept_precision", 100));
      recall.push_back(mean_curve(runs, me, st, nullptr, "noise_recall", 100));
    }
    o << "<h3>" << escape_markup(st.name()) << "</h3>\n<div class=\"charts\">\n"
      << line_plot_svg("Kept precision — " + st.name(), "iteration", "kept precision (%)", kept)
      << line_plot_svg("Noise recall — " + st.name(), "iteration", "noise recall (%)", recall) << "</div>\n";
  }

  o << "<h2>Retrieval galleries</h2>\n<p class=\"note\">Each run's report/gallery.png (the lowest seed of "
       "each "
       "method × setting): 8 test queries (grey frame), each with its 8 nearest neighbours — green: same "
       "class, "
       "red: another class.</p>\n";
  for (const auto& st : settings) {
    o << "<h3>" << escape_markup(st.name()) << "</h3>\n<div>\n";
    for (const auto& me : methods) {
      const LoadedRun* pick = nullptr;
      for (const auto& r : runs)
        if (r.at.method == me && setting_of(r.at) == st && !r.gallery_png.empty() &&
            (!pick || r.at.seed < pick->at.seed))
          pick = &r;
      if (!pick) continue;
      o << "<figure><img alt=\"retrieval gallery of " << escape_markup(me)
        << "\" src=\"data:image/png;base64," << base64(pick->gallery_png) << "\"><figcaption>"
        << escape_markup(me) << ", seed " << pick->at.seed << "</figcaption></figure>\n";
    }
    o << "</div>\n";
  }

  o << "<h2>Runs</h2>\n<table><tr><th>method</th><th>setting</th><th>seed</th><th>P@1</th><th>MAP@R</th>"
       "<th>kept precision</th><th>noise recall</th><th>train s</th><th>run directory</th></tr>\n";
  for (const auto& r : runs) {
    auto pct = [&](const char* k) {
      const double v = number_of(r.summary, k);
      return std::isfinite(v) ? fixed2(100 * v) : std::string("–");
    };
    const double secs = number_of(r.summary, "train_seconds");
    o << "<tr><th>" << escape_markup(r.at.method) << "</th><td>" << escape_markup(setting_of(r.at).name())
      << "</td><td>" << r.at.seed << "</td><td>" << pct("precision_at_1") << "</td><td>" << pct("map_at_r")
      << "</td><td>" << pct("kept_precision") << "</td><td>" << pct("noise_recall") << "</td><td>"
      << (std::isfinite(secs) ? fixed2(secs) : "–") << "</td><td style=\"text-align:left\">"
      << escape_markup(shown_dir(r.at.run_dir, base_dir)) << "</td></tr>\n";
  }
  o << "</table>\n</body></html>\n";
  return o.str();
}

}  // namespace

std::string noise_setting_name(const std::string& noise_type, double noise_rate) {
  if (noise_type == "none") return "none";
  return noise_type + "-" + double_text(noise_rate);
}

ExperimentRun experiment_run_of(const std::string& run_dir) {
  const Config c = load_config(run_dir + "/config.yaml");
  ExperimentRun r;
  r.method = c.noise.method;
  r.noise_type = c.noise.type;
  r.noise_rate = c.noise.type == "none" ? 0.0 : c.effective_inject_rate();
  r.split = c.data.split;
  r.seed = c.seed;
  r.run_dir = run_dir;
  return r;
}

std::string experiment_results_csv(const std::vector<ExperimentRun>& runs, const std::string& base_dir) {
  return csv_of(load_runs(runs), base_dir);
}

json experiment_results_json(const std::vector<ExperimentRun>& runs, const std::string& base_dir) {
  return json(result_rows(load_runs(runs), base_dir));
}

std::string experiment_table_md(const std::vector<ExperimentRun>& runs,
                                const ExperimentReportOptions& options) {
  return table_md_of(load_runs(runs), options);
}

std::string experiment_report_html(const std::vector<ExperimentRun>& runs, const std::string& base_dir,
                                   const ExperimentReportOptions& options) {
  const auto loaded = load_runs(runs);
  return html_of(loaded, base_dir, options, noise_rate_charts(loaded));
}

void write_experiment_report(const std::string& dir, const std::vector<ExperimentRun>& runs,
                             const ExperimentReportOptions& options) {
  const auto loaded = load_runs(runs);
  make_directories(dir);
  write_file_atomic(dir + "/results.csv", csv_of(loaded, dir));
  write_file_atomic(dir + "/results.json", json(result_rows(loaded, dir)).dump(2) + "\n");
  write_file_atomic(dir + "/table.md", table_md_of(loaded, options));
  const auto charts = noise_rate_charts(loaded);
  write_file_atomic(dir + "/report.html", html_of(loaded, dir, options, charts));
  make_directories(dir + "/figures");
  for (const auto& [stem, svg] : charts)
    write_file_atomic(dir + "/figures/" + stem + ".svg",
                      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg + "\n");
}

}  // namespace prism
