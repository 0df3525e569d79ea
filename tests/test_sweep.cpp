// Tests of `prism sweep` and the experiment report (tag [sweep]) on a tiny Fashion-MNIST grid through the built
// binary: results vs summaries, table statistics, reruns, resumes, refusals, --jobs, bad input, the page.
#include <unistd.h>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dml_test_util.hpp"
#include "prism/core/io.hpp"
#include "train_test_util.hpp"

namespace fs = std::filesystem;
using dmltest::run_prism;

namespace {

const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

std::string fresh_dir(const std::string& name) {
  return prism::testing::fresh_scratch_dir("sweep_test", name);
}

// The tiny experiment every cell runs (exact mode, so results do not depend on threads or interruptions).
std::string write_tiny_config(const std::string& dir) {
  prism::make_directories(dir);
  const std::string path = dir + "/tiny.yaml";
  prism::write_file_atomic(
      path, std::string("SOLVER:\n  MAX_ITERS: 4\n  BASE_LR: 2.0e-3\nMODEL:\n  HEAD:\n    DIM: 16\n"
                        "XBM:\n  SIZE: 64\nNOISE:\n  WINDOW_SIZE: 4\nDATA:\n  ROOT: ") +
                kFashionMnist +
                "\n  TRAIN_PER_CLASS: 20\n  TEST_PER_CLASS: 5\n  TRAIN_BATCHSIZE: 16\n"
                "  NUM_INSTANCES: 4\n  TEST_BATCHSIZE: 50\nVALIDATION:\n  VERBOSE: 2\n"
                "RUN:\n  MODE: exact\n  THREADS: 2\n  LOG_EVERY: 1\n");
  return path;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

struct Csv {
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
};

Csv read_csv(const std::string& path) {  // our CSV has no quoted fields (no commas in values)
  Csv csv;
  std::istringstream in(prism::read_file(path));
  std::string line;
  std::getline(in, line);
  csv.header = split(line, ',');
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto f = split(line, ',');
    REQUIRE(f.size() == csv.header.size());
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < f.size(); ++i) row[csv.header[i]] = f[i];
    csv.rows.push_back(row);
  }
  return csv;
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(prism::read_file(path));
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The cells of table.md's section `title`: row method → column name → cell text (bold marks removed).
std::map<std::string, std::map<std::string, std::string>> md_table(const std::string& md,
                                                                   const std::string& title) {
  std::map<std::string, std::map<std::string, std::string>> t;
  const size_t at = md.find("## " + title + "\n");
  REQUIRE(at != std::string::npos);
  std::istringstream in(md.substr(at));
  std::string line;
  std::getline(in, line);  // the heading
  std::getline(in, line);  // blank
  std::getline(in, line);  // the column names
  auto cells = [](const std::string& l) {
    auto f = split(l, '|');
    std::vector<std::string> out;
    for (size_t i = 1; i + 1 < f.size(); ++i) {
      std::string s = f[i];
      while (!s.empty() && s.front() == ' ') s.erase(0, 1);
      while (!s.empty() && s.back() == ' ') s.pop_back();
      if (s.size() > 4 && s.rfind("**", 0) == 0) s = s.substr(2, s.size() - 4);
      out.push_back(s);
    }
    return out;
  };
  const auto columns = cells(line);
  std::getline(in, line);  // |---|
  while (std::getline(in, line) && !line.empty() && line[0] == '|') {
    const auto c = cells(line);
    for (size_t i = 1; i < c.size() && i < columns.size(); ++i) t[c[0]][columns[i]] = c[i];
  }
  return t;
}

std::string mean_sd_text(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  const double mean = sum / v.size();
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f ± %.2f", 100 * mean, 100 * std::sqrt(ss / (v.size() - 1)));
  return buf;
}

const char* kGrid = " --methods xbm,prism --noise symmetric:0.2 small-cluster:0.5 --seeds 0,1";

}  // namespace

TEST_CASE("sweep: a tiny grid, its results, reruns, resumes, refusals and the report page",
          "[sweep][threads]") {
  if (!fs::exists(std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz"))
    FAIL("Fashion-MNIST is not installed");
  const std::string dir = fresh_dir("grid");
  const std::string cfg = write_tiny_config(fresh_dir("grid_cfg"));
  const std::string args = "sweep --config " + cfg + kGrid + " --out " + dir;

  const auto first = run_prism(args);
  INFO(first.out);
  REQUIRE(first.code == 0);
  CHECK(first.out.find("8/8 cells done") != std::string::npos);

  // ---- results.csv: the header, one row per cell, values equal to each cell's summary.json
  const Csv csv = read_csv(dir + "/results.csv");
  REQUIRE(csv.header.size() > 6);
  CHECK(std::vector<std::string>(csv.header.begin(), csv.header.begin() + 5) ==
        std::vector<std::string>{"method", "noise_type", "noise_rate", "split", "seed"});
  CHECK(csv.header.back() == "run_dir");
  for (const char* col : {"precision_at_1", "map_at_r", "r_precision", "kept_precision", "noise_recall",
                          "train_seconds", "images_per_second", "iterations"})
    CHECK(std::find(csv.header.begin(), csv.header.end(), col) != csv.header.end());
  REQUIRE(csv.rows.size() == 8);
  std::map<std::string, std::string> summaries;  // run_dir → summary.json bytes
  for (const auto& row : csv.rows) {
    const std::string run = dir + "/" + row.at("run_dir");
    INFO(run);
    const nlohmann::json s = read_json(run + "/summary.json");
    summaries[row.at("run_dir")] = prism::read_file(run + "/summary.json");
    CHECK(row.at("method") == s["method"].get<std::string>());
    CHECK(std::stoll(row.at("seed")) == s["seed"].get<int64_t>());
    CHECK(std::stod(row.at("noise_rate")) == s["noise_rate"].get<double>());
    CHECK(row.at("split") == "closed");
    CHECK(row.at("run_dir") == "runs/" + row.at("method") + "/" + row.at("noise_type") + "-" +
                                   row.at("noise_rate") + "/closed/seed" + row.at("seed"));
    for (const auto& [key, value] : s.items()) {
      if (key == "method" || key == "seed" || key == "noise_rate") continue;
      INFO(key);
      REQUIRE(row.count(key) == 1);
      if (value.is_null())
        CHECK(row.at(key).empty());
      else if (value.is_string())
        CHECK(row.at(key) == value.get<std::string>());
      else
        CHECK(std::stod(row.at(key)) == value.get<double>());
    }
    CHECK(s["iterations"].get<int64_t>() == 4);
  }
  const nlohmann::json results = read_json(dir + "/results.json");
  REQUIRE(results.size() == 8);
  CHECK(results[0]["precision_at_1"].get<double>() == std::stod(csv.rows[0].at("precision_at_1")));

  // ---- table.md: mean ± std over the seeds, as computed here from the CSV
  const std::string md = prism::read_file(dir + "/table.md");
  for (const auto& [title, key] :
       std::vector<std::pair<std::string, std::string>>{{"P@1", "precision_at_1"}, {"MAP@R", "map_at_r"}}) {
    const auto table = md_table(md, title);
    std::map<std::pair<std::string, std::string>, std::vector<double>> values;
    for (const auto& row : csv.rows)
      values[{row.at("method"), row.at("noise_type") + "-" + row.at("noise_rate") + " / closed"}].push_back(
          std::stod(row.at(key)));
    REQUIRE(values.size() == 4);
    for (const auto& [at, v] : values) {
      INFO(title << " " << at.first << " " << at.second << "\n" << md);
      REQUIRE(v.size() == 2);
      REQUIRE(table.count(at.first) == 1);
      REQUIRE(table.at(at.first).count(at.second) == 1);
      CHECK(table.at(at.first).at(at.second) == mean_sd_text(v));
    }
  }
  CHECK(md.find("**") != std::string::npos);  // the best of each column

  // ---- report.html: one self-contained page with the table and a chart per figure
  {
    const std::string html = prism::read_file(dir + "/report.html");
    CHECK(html.find("src=\"http") == std::string::npos);
    CHECK(html.find("<link") == std::string::npos);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("<table") != std::string::npos);
    CHECK(html.find("P@1") != std::string::npos);
    // 2 noise types × (P@1, MAP@R) against the rate + 2 settings × (loss, P@1) + 2 settings × (kept, recall)
    CHECK(count_of(html, "<svg") == 12);
    CHECK(count_of(html, "data:image/png;base64,") == 4);  // a gallery per method × setting
    if (dmltest::run_shell("command -v chromium").code == 0) {
      const std::string png = dir + "/report.png";
      const auto shot =
          dmltest::run_shell("chromium --headless --disable-gpu --no-sandbox --screenshot=" + png +
                             " --window-size=1400,2000 file://" + dir + "/report.html");
      INFO(shot.out);
      REQUIRE(fs::exists(png));
      CHECK(fs::file_size(png) > 20000);
    }
  }

  // ---- figures/: the page's charts against the noise rate as standalone SVG files, the same drawings
  {
    const std::string html = prism::read_file(dir + "/report.html");
    int figures = 0;
    for (const auto& e : fs::directory_iterator(dir + "/figures")) {
      const std::string name = e.path().filename().string();
      INFO("figure " << name);
      CHECK((name.rfind("precision_at_1-", 0) == 0 || name.rfind("map_at_r-", 0) == 0));
      CHECK(e.path().extension() == ".svg");
      const std::string svg = prism::read_file(e.path().string());
      REQUIRE(
          svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"",
                    0) == 0);
      const std::string drawing = svg.substr(svg.find("<svg"));
      CHECK(html.find(drawing.substr(0, drawing.size() - 1)) != std::string::npos);  // less the final newline
      ++figures;
    }
    CHECK(figures == 4);  // 2 noise types × (P@1, MAP@R)
  }

  // ---- a rerun skips every cell: no training, the summaries untouched
  {
    const auto again = run_prism(args);
    INFO(again.out);
    REQUIRE(again.code == 0);
    CHECK(count_of(again.out, "skipped ") == 8);
    CHECK(again.out.find("0 run now") != std::string::npos);
    for (const auto& [run, bytes] : summaries)
      CHECK(prism::read_file(dir + "/" + run + "/summary.json") == bytes);
  }

  // ---- interrupted cells, and only they, are resumed
  const std::string stopped = "runs/prism/symmetric-0.2/closed/seed1",
                    unsummarised = "runs/xbm/small-cluster-0.5/closed/seed0";
  {
    const auto stop = run_prism("train --config " + dir + "/" + stopped + "/config.yaml --out " + dir + "/" +
                                stopped + " --force --stop-after 2 --quiet");
    INFO(stop.out);
    REQUIRE(stop.code == 0);
    REQUIRE(!fs::exists(dir + "/" + stopped + "/summary.json"));
    fs::remove(dir + "/" + unsummarised + "/summary.json");
    const Csv partial = read_csv(dir + "/results.csv");  // not rewritten by the interruption itself
    CHECK(partial.rows.size() == 8);
    const auto again = run_prism(args);
    INFO(again.out);
    REQUIRE(again.code == 0);
    CHECK(count_of(again.out, "skipped ") == 6);
    CHECK(again.out.find("resuming prism/symmetric-0.2/closed/seed1") != std::string::npos);
    CHECK(again.out.find("resuming xbm/small-cluster-0.5/closed/seed0") != std::string::npos);
    for (const auto& [run, bytes] : summaries) {
      INFO(run);
      const nlohmann::json before = nlohmann::json::parse(bytes),
                           now = read_json(dir + "/" + run + "/summary.json");
      CHECK(now["precision_at_1"] == before["precision_at_1"]);  // exact mode: resume = uninterrupted
      CHECK(now["map_at_r"] == before["map_at_r"]);
      if (run != stopped && run != unsummarised)
        CHECK(prism::read_file(dir + "/" + run + "/summary.json") == bytes);
    }
    CHECK(read_csv(dir + "/results.csv").rows.size() == 8);
  }

  // ---- a cell whose run has another config is refused, naming it and the key; --force redoes it
  {
    const auto changed = run_prism(args + " --set SOLVER.BASE_LR=0.004");
    INFO(changed.out);
    CHECK(changed.code != 0);
    CHECK(changed.out.find("cell xbm/symmetric-0.2/closed/seed0") != std::string::npos);
    CHECK(changed.out.find("SOLVER.BASE_LR") != std::string::npos);
    CHECK(changed.out.find("--force") != std::string::npos);
    for (const auto& [run, bytes] : summaries) CHECK(fs::exists(dir + "/" + run + "/summary.json"));
  }

  // ---- --jobs 2: `prism train` children give the in-process results (exact mode)
  {
    const std::string jdir = fresh_dir("jobs");
    const auto jobs = run_prism("sweep --config " + cfg +
                                " --methods xbm --noise symmetric:0.2 --seeds 0,1 --jobs 2 --out " + jdir);
    INFO(jobs.out);
    REQUIRE(jobs.code == 0);
    for (const char* run : {"runs/xbm/symmetric-0.2/closed/seed0", "runs/xbm/symmetric-0.2/closed/seed1"}) {
      INFO(run);
      const nlohmann::json a = read_json(jdir + "/" + run + "/summary.json"),
                           b = read_json(dir + "/" + run + "/summary.json");
      CHECK(a["precision_at_1"] == b["precision_at_1"]);
      CHECK(a["map_at_r"] == b["map_at_r"]);
    }
    CHECK(read_csv(jdir + "/results.csv").rows.size() == 2);
    CHECK(!fs::exists(jdir + "/.sweep"));
  }
}

TEST_CASE("sweep: bad input fails before any run with one line naming it", "[sweep][errors]") {
  const std::string dir = fresh_dir("errors");
  const std::string cfg = write_tiny_config(fresh_dir("errors_cfg"));
  const std::string base = "sweep --config " + cfg + " --out " + dir;
  struct Case {
    std::string args, names;
  };
  const std::vector<Case> cases = {
      {" --noise symmetric:1.5", "--noise 'symmetric:1.5'"},
      {" --noise uniform:0.2", "uniform"},
      {" --noise symmetric", "--noise 'symmetric'"},
      {" --methods xbm,nosuch", "nosuch"},
      {" --set SOLVER.BASE_LRR=1", "SOLVER.BASE_LRR"},
      {" --split closed,half", "half"},
      {" --seeds 0,x", "--seeds"},
      {" --set DATA.NUM_INSTANCES=5", "DATA.TRAIN_BATCHSIZE"},  // 16 is no multiple of 5: a validation error
  };
  for (const Case& c : cases) {
    const auto r = run_prism(base + c.args);
    INFO(c.args << "\n" << r.out);
    CHECK(r.code > 0);
    CHECK(r.code < 128);
    CHECK(r.out.find(c.names) != std::string::npos);
    CHECK(count_of(r.out, "\n") == 1);
    CHECK(!fs::exists(dir));  // nothing written
  }
}

TEST_CASE("compare: writes the sweep's page and results for its methods", "[sweep][compare]") {
  if (!fs::exists(std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz"))
    FAIL("Fashion-MNIST is not installed");
  const std::string dir = fresh_dir("compare");
  const std::string cfg = write_tiny_config(fresh_dir("compare_cfg"));
  const auto r = run_prism("compare --config " + cfg +
                           " --set NOISE.TYPE=symmetric --methods xbm,prism --quiet --out " + dir);
  INFO(r.out);
  REQUIRE(r.code == 0);
  const Csv csv = read_csv(dir + "/results.csv");
  REQUIRE(csv.rows.size() == 2);
  CHECK(csv.rows[0].at("method") == "xbm");
  CHECK(csv.rows[1].at("run_dir") == "prism");
  CHECK(std::stod(csv.rows[1].at("precision_at_1")) ==
        read_json(dir + "/prism/summary.json")["precision_at_1"].get<double>());
  const std::string html = prism::read_file(dir + "/report.html");
  CHECK(html.find("<table") != std::string::npos);
  CHECK(count_of(html, "<svg") == 6);  // P@1 and MAP@R against the rate, loss and P@1, kept and recall
  CHECK(html.find("src=\"http") == std::string::npos);
}
