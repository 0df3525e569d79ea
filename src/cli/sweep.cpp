// prism sweep (reference code): the grid method × noise × split × seed, one prism::train run directory per
// cell (in-process, or `prism train` children with --jobs), resumable per cell, with the experiment outputs
// rewritten after every finished cell. docs/experiments.md.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "cli/commands.hpp"
#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"
#include "prism/dml/methods.hpp"
#include "prism/train/config.hpp"
#include "prism/train/experiment_report.hpp"
#include "prism/train/trainer.hpp"

extern char** environ;

namespace prism::cli {

namespace fs = std::filesystem;

namespace {

struct SweepArgs {
  std::string config, methods, splits, seeds, out;
  std::vector<std::string> noise, overrides;
  int jobs = 1;
  int64_t stop_after = -1;
  bool force = false, quiet = false;
};

struct NoiseSetting {
  std::string type;  // none | symmetric | small-cluster; empty = the config's own
  double rate = 0;
};

std::vector<std::string> split_list(const std::string& s, char sep = ',') {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

// "symmetric:0.1,0.2" → two settings; "none" → one.
std::vector<NoiseSetting> parse_noise(const std::string& spec) {
  const std::string where = "--noise '" + spec + "': ";
  if (spec == "none") return {{"none", 0.0}};
  const size_t colon = spec.find(':');
  if (colon == std::string::npos)
    throw Error(where +
                "expected TYPE:RATE[,RATE…] (symmetric or small-cluster) or none, e.g. symmetric:0.2,0.5");
  const std::string type = spec.substr(0, colon);
  if (type != "symmetric" && type != "small-cluster")
    throw Error(where + "unknown noise type '" + type + "' (none, symmetric, small-cluster)");
  const auto rates = split_list(spec.substr(colon + 1));
  if (rates.empty()) throw Error(where + "no rate after ':'");
  std::vector<NoiseSetting> out;
  for (const std::string& r : rates) {
    size_t used = 0;
    double v = NAN;
    try {
      v = std::stod(r, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != r.size() || !(v > 0 && v < 1))
      throw Error(where + "rate '" + r + "' is not a number in (0, 1)");
    out.push_back({type, v});
  }
  return out;
}

struct Cell {
  std::string method, split;
  NoiseSetting noise;
  int64_t seed = 0;
  std::string dir, name;  // name: method/noise/split/seedK, as in the directory
  Config config;
  enum class Plan { fresh, skip, resume, redo } plan = Plan::fresh;
};

// The cell's config without what does not change the experiment: the thread count (a sweep with --jobs N
// gives each cell cores / N threads).
Config comparable(Config c) {
  c.run.threads = 0;
  return c;
}

// The first key whose value differs, for the error message.
std::string first_difference(const Config& a, const Config& b) {
  Config ca = a;
  for (const ConfigKey& k : config_keys(ca)) {
    if (k.name == "RUN.THREADS") continue;
    const std::string va = config_value_text(a, k.name), vb = config_value_text(b, k.name);
    if (va != vb) return k.name + " is " + va + " there, " + vb + " in this sweep";
  }
  return "the configs differ";
}

std::string duration_text(double s) {
  if (!std::isfinite(s) || s < 0) return "-";
  char buf[32];
  const long t = std::lround(s);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

// The one progress line of the grid on stderr: redrawn in place on a terminal, one line per event otherwise.
class GridProgress {
 public:
  GridProgress(int64_t total, int jobs, bool quiet)
      : total_(total), jobs_(jobs), quiet_(quiet), tty_(isatty(2)) {}
  void cell_done(double seconds) {
    ++done_;
    if (seconds >= 0) measured_ += seconds, ++timed_;
  }
  void skipped() { ++done_, ++skipped_; }
  void failed() { ++done_, ++failed_; }
  void show(const std::string& event) {
    if (quiet_) return;
    std::string eta = "-";
    if (timed_ > 0) eta = duration_text(measured_ / timed_ * static_cast<double>(total_ - done_) / jobs_);
    char head[96];
    std::snprintf(head, sizeof head, "sweep: %lld/%lld cells done", static_cast<long long>(done_),
                  static_cast<long long>(total_));
    std::string line = head;
    if (skipped_) line += " (" + std::to_string(skipped_) + " skipped)";
    if (failed_) line += " (" + std::to_string(failed_) + " failed)";
    line += "  " + event + "  ETA " + eta;
    if (tty_)
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
    else
      std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  }
  void finish() {
    if (!quiet_ && tty_) std::fprintf(stderr, "\n");
  }

 private:
  int64_t total_, done_ = 0, skipped_ = 0, failed_ = 0, timed_ = 0;
  int jobs_;
  bool quiet_, tty_;
  double measured_ = 0;
};

// In-process cells write the trainer's own messages into the cell's train.log, so stderr keeps the one grid line.
class StderrToFile {
 public:
  explicit StderrToFile(const std::string& path) {
    std::fflush(stderr);
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return;
    saved_ = dup(2);
    dup2(fd, 2);
    close(fd);
  }
  ~StderrToFile() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
  }
  StderrToFile(const StderrToFile&) = delete;
  StderrToFile& operator=(const StderrToFile&) = delete;

 private:
  int saved_ = -1;
};

std::string self_binary() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("--jobs: cannot find the prism binary (/proc/self/exe): " + ec.message());
  return p.string();
}

// Starts `prism train` for a cell with stdout and stderr into the cell's train.log; returns the child's pid.
pid_t spawn_cell(const std::string& binary, const Cell& cell, const std::string& cell_config,
                 int64_t stop_after) {
  std::vector<std::string> args = {binary, "train", "--quiet"};
  if (cell.plan == Cell::Plan::resume) {
    args.insert(args.end(), {"--resume", cell.dir, "--threads", std::to_string(cell.config.run.threads)});
  } else {
    args.insert(args.end(), {"--config", cell_config, "--out", cell.dir});
    if (cell.plan == Cell::Plan::redo) args.push_back("--force");
  }
  if (stop_after >= 0) args.insert(args.end(), {"--stop-after", std::to_string(stop_after)});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const std::string log = cell.dir + "/train.log";
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, binary.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    throw Error("--jobs: cannot start " + binary + " for cell " + cell.name + ": " + std::strerror(rc));
  return pid;
}

// The last line of a cell's train.log that says what went wrong (the child's "prism: error: …").
std::string log_error(const std::string& log) {
  std::string last;
  if (!fs::exists(log)) return last;
  std::istringstream in(read_file(log));
  for (std::string line; std::getline(in, line);)
    if (line.find("error") != std::string::npos) last = line;
  return last;
}

}  // namespace

void register_sweep(CLI::App& app) {
  static SweepArgs a;
  auto* cmd = app.add_subcommand(
      "sweep", "Run the grid method x noise x split x seed (one prism train run per cell) and report it");
  cmd->add_option("--config", a.config, "Base YAML config of every cell")
      ->check(CLI::ExistingFile)
      ->required();
  cmd->add_option("--methods", a.methods,
                  "Comma-separated methods (" + dml::method_names_text(", ") + "; default: the config's)");
  cmd->add_option("--noise", a.noise,
                  "Noise settings TYPE:RATE,RATE… or none, e.g. symmetric:0.1,0.2,0.5 small-cluster:0.25,0.5 "
                  "(sets NOISE.TYPE, NOISE.INJECT_RATE and NOISE.NOISE_RATE; default: the config's)");
  cmd->add_option("--split", a.splits, "Comma-separated splits: closed,open (default: the config's)");
  cmd->add_option("--seeds", a.seeds, "Comma-separated seeds, e.g. 0,1,2 (default: the config's SEED)");
  cmd->add_option("--set", a.overrides, "Override a config key in every cell: KEY=VALUE (repeatable)");
  cmd->add_option("--jobs", a.jobs,
                  "Cells at once, as `prism train` child processes with RUN.THREADS = cores / N each "
                  "(default 1: in this process, the config's threads)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--out", a.out, "Sweep directory: runs/<method>/<noise>/<split>/seed<k>/ and the reports")
      ->required();
  cmd->add_option(
      "--stop-after", a.stop_after,
      "End every cell after this many iterations with its checkpoint written (a rerun resumes them)");
  cmd->add_flag("--force", a.force, "Redo the cells whose run directory holds a run of another config");
  cmd->add_flag("--quiet", a.quiet, "No progress line");
  cmd->callback([] {
    const auto t_start = std::chrono::steady_clock::now();
    // ---- the axes, each checked before anything runs
    std::vector<std::string> methods = split_list(a.methods);
    for (const std::string& m : methods) {
      try {
        dml::method_spec(m);
      } catch (const Error& e) {
        throw Error("--methods: " + std::string(e.what()));
      }
    }
    std::vector<NoiseSetting> noises;
    for (const std::string& spec : a.noise)
      for (const NoiseSetting& n : parse_noise(spec)) noises.push_back(n);
    std::vector<std::string> splits = split_list(a.splits);
    for (const std::string& s : splits)
      if (s != "closed" && s != "open") throw Error("--split: '" + s + "' is not closed or open");
    std::vector<int64_t> seeds;
    for (const std::string& s : split_list(a.seeds)) {
      size_t used = 0;
      int64_t v = -1;
      try {
        v = std::stoll(s, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != s.size() || v < 0) throw Error("--seeds: '" + s + "' is not a non-negative integer");
      seeds.push_back(v);
    }
    std::vector<std::string> warnings;
    const Config base = load_config(a.config, a.overrides, &warnings);
    for (const std::string& w : warnings) std::fprintf(stderr, "prism: warning: %s\n", w.c_str());
    if (methods.empty()) methods = {base.noise.method};
    if (noises.empty()) noises = {{"", 0.0}};  // the config's own noise
    if (splits.empty()) splits = {base.data.split};
    if (seeds.empty()) seeds = {base.seed};
    const int cores = std::max(1u, std::thread::hardware_concurrency());

    // ---- every cell's config, resolved and validated; what to do with it
    std::vector<Cell> cells;
    for (const std::string& m : methods)
      for (const NoiseSetting& n : noises)
        for (const std::string& sp : splits)
          for (const int64_t seed : seeds) {
            Cell c;
            c.method = m, c.noise = n, c.split = sp, c.seed = seed;
            std::vector<std::string> ov = a.overrides;
            ov.push_back("NOISE.METHOD=" + m);
            if (n.type == "none") {
              ov.push_back("NOISE.TYPE=none");
            } else if (!n.type.empty()) {
              // R is taken as known (the paper's assumption): selection removes the injected rate.
              ov.push_back("NOISE.TYPE=" + n.type);
              ov.push_back("NOISE.INJECT_RATE=" + double_text(n.rate));
              ov.push_back("NOISE.NOISE_RATE=" + double_text(n.rate));
            }
            ov.push_back("DATA.SPLIT=" + sp);
            ov.push_back("SEED=" + std::to_string(seed));
            if (a.jobs > 1) ov.push_back("RUN.THREADS=" + std::to_string(std::max(1, cores / a.jobs)));
            c.config = load_config(a.config, ov);
            const std::string noise_name =
                noise_setting_name(c.config.noise.type, c.config.effective_inject_rate());
            c.noise = {c.config.noise.type,
                       c.config.noise.type == "none" ? 0.0 : c.config.effective_inject_rate()};
            c.name = m + "/" + noise_name + "/" + sp + "/seed" + std::to_string(seed);
            c.dir = a.out + "/runs/" + c.name;
            try {
              validate_config(c.config);
            } catch (const Error& e) {
              throw Error("cell " + c.name + ": " + e.what());
            }
            cells.push_back(std::move(c));
          }
    std::vector<std::string> conflicts;
    for (Cell& c : cells) {
      const bool finished = fs::exists(c.dir + "/summary.json");
      const bool started = fs::exists(c.dir + "/checkpoint.safetensors");
      if (!finished && !started) continue;  // fresh (a config.yaml without a checkpoint is rewritten)
      Config there;
      try {
        there = load_run_config(c.dir);
      } catch (const Error& e) {
        throw Error("cell " + c.name + ": " + e.what());
      }
      if (comparable(there) == comparable(c.config)) {
        c.plan = finished ? Cell::Plan::skip : Cell::Plan::resume;
      } else if (a.force) {
        c.plan = Cell::Plan::redo;
      } else {
        conflicts.push_back("cell " + c.name + " (" + c.dir +
                            ") holds a run of another config: " + first_difference(there, c.config));
      }
    }
    if (!conflicts.empty())
      throw Error(
          conflicts.front() +
          (conflicts.size() > 1 ? " (and " + std::to_string(conflicts.size() - 1) + " more cells)" : "") +
          "; use --force to redo them, or another --out");

    // ---- the runs
    make_directories(a.out);
    ExperimentReportOptions report;
    report.title = "prism sweep: " + fs::path(a.config).stem().string();
    report.planned_runs = static_cast<int64_t>(cells.size());
    {
      std::string cmdline = "prism sweep --config " + a.config;
      if (!a.methods.empty()) cmdline += " --methods " + a.methods;
      if (!a.noise.empty()) {
        cmdline += " --noise";
        for (const auto& n : a.noise) cmdline += " " + n;
      }
      if (!a.splits.empty()) cmdline += " --split " + a.splits;
      if (!a.seeds.empty()) cmdline += " --seeds " + a.seeds;
      for (const auto& s : a.overrides) cmdline += " --set " + s;
      if (a.jobs > 1) cmdline += " --jobs " + std::to_string(a.jobs);
      cmdline += " --out " + a.out;
      report.command = cmdline;
    }
    // The outputs cover the finished cells in grid order (partial sweep → partial results).
    auto write_outputs = [&] {
      std::vector<ExperimentRun> done;
      for (const Cell& c : cells)
        if (fs::exists(c.dir + "/summary.json"))
          done.push_back({c.method, c.noise.type, c.noise.rate, c.split, c.seed, c.dir});
      if (!done.empty()) write_experiment_report(a.out, done, report);
    };
    GridProgress progress(static_cast<int64_t>(cells.size()), a.jobs, a.quiet);
    std::vector<std::string> failures;
    bool any_skipped = false;
    for (const Cell& c : cells)
      if (c.plan == Cell::Plan::skip) {
        progress.skipped();
        progress.show("skipped " + c.name + " (finished, same config)");
        any_skipped = true;
      }
    if (any_skipped) write_outputs();
    auto verb = [](const Cell& c) {
      return c.plan == Cell::Plan::resume ? "resuming "
             : c.plan == Cell::Plan::redo ? "redoing "
                                          : "running ";
    };
    auto finished_cell = [&](const Cell& c, double seconds, const std::string& error) {
      if (error.empty() && fs::exists(c.dir + "/summary.json")) {
        progress.cell_done(seconds);
        write_outputs();
        progress.show("finished " + c.name);
      } else if (error.empty()) {  // --stop-after: the checkpoint is written, no summary yet
        progress.cell_done(seconds);
        progress.show("stopped " + c.name + " (--stop-after; a rerun resumes it)");
      } else {
        progress.failed();
        failures.push_back("cell " + c.name + ": " + error + " (log: " + c.dir + "/train.log)");
        progress.show("FAILED " + c.name);
      }
    };
    std::vector<const Cell*> todo;
    for (const Cell& c : cells)
      if (c.plan != Cell::Plan::skip) todo.push_back(&c);

    if (a.jobs == 1) {
      for (const Cell* c : todo) {
        progress.show(verb(*c) + c->name);
        make_directories(c->dir);
        if (c->plan != Cell::Plan::resume) write_file_atomic(c->dir + "/train.log", "");
        TrainOptions opt;
        opt.out_dir = c->dir;
        opt.resume = c->plan == Cell::Plan::resume;
        opt.overwrite = c->plan == Cell::Plan::redo;
        opt.stop_after = a.stop_after;
        opt.progress = false;
        const auto t0 = std::chrono::steady_clock::now();
        std::string error;
        {
          StderrToFile log(c->dir + "/train.log");
          try {
            train(c->config, opt);
          } catch (const std::exception& e) {
            error = e.what();
            std::fprintf(stderr, "prism: error: %s\n", e.what());
          }
        }
        finished_cell(*c, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                      error);
      }
    } else {
      const std::string binary = self_binary();
      const std::string cell_configs = a.out + "/.sweep";
      make_directories(cell_configs);
      std::map<pid_t, std::pair<const Cell*, std::chrono::steady_clock::time_point>> running;
      size_t next = 0;
      while (next < todo.size() || !running.empty()) {
        while (next < todo.size() && static_cast<int>(running.size()) < a.jobs) {
          const Cell& c = *todo[next++];
          make_directories(c.dir);
          if (c.plan != Cell::Plan::resume) write_file_atomic(c.dir + "/train.log", "");
          const std::string cfg_path = cell_configs + "/cell" + std::to_string(next) + ".yaml";
          write_file_atomic(cfg_path, config_to_yaml(c.config));
          running[spawn_cell(binary, c, cfg_path, a.stop_after)] = {&c, std::chrono::steady_clock::now()};
          progress.show(verb(c) + c.name + " (" + std::to_string(running.size()) + " running)");
        }
        int status = 0;
        const pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) break;
        auto it = running.find(pid);
        if (it == running.end()) continue;
        const Cell& c = *it->second.first;
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second.second).count();
        running.erase(it);
        std::string error;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
          error = log_error(c.dir + "/train.log");
          if (error.empty())
            error = "prism train exited with status " +
                    std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        finished_cell(c, secs, error);
      }
      std::error_code ec;
      fs::remove_all(cell_configs, ec);
    }
    progress.finish();
    if (!failures.empty())
      throw Error(std::to_string(failures.size()) + " of " + std::to_string(todo.size()) +
                  " cells failed; first: " + failures.front() + "; a rerun retries them");
    int64_t finished = 0;
    for (const Cell& c : cells) finished += fs::exists(c.dir + "/summary.json");
    std::printf(
        "sweep: %lld of %zu cells finished (%zu run now, %zu skipped) in %s; %s/results.csv, "
        "results.json, table.md, report.html\n",
        static_cast<long long>(finished), cells.size(), todo.size(), cells.size() - todo.size(),
        duration_text(std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count())
            .c_str(),
        a.out.c_str());
  });
}

}  // namespace prism::cli
