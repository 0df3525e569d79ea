// `prism train`'s loop (reference code): validate the config (its one validation), open the data, build the
// TrainingRun, then for each iteration take its batch (prefetched on a worker thread), call the run's step,
// log, checkpoint and evaluate on schedule; at the end evaluate the final model and write the reports. The
// step itself is TrainingRun::step (run.cpp), shared with `prism check` and `prism bench train`.
#include "prism/train/trainer.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"
#include "prism/core/timing.hpp"
#include "prism/data/npy.hpp"
#include "prism/data/prefetch.hpp"
#include "prism/train/data_setup.hpp"
#include "prism/train/progress.hpp"

namespace prism {

namespace fs = std::filesystem;

namespace {

// What a run directory holds; --force replaces exactly these.
// (train_embeddings.npy and audit.* are written by `prism audit` from the run's model.)
constexpr const char* kRunOutputs[] = {
    "checkpoint.safetensors", "run_time.json",   "summary.json", "metrics.jsonl",
    "test_embeddings.npy",    "test_labels.npy", "config.yaml",  "report",
    "train_embeddings.npy",   "audit.csv",       "audit.json",   "audit.html"};

// The outputs of the run that --force replaces, moved into DIR/.replaced/ until the new run has written its
// first checkpoint (then removed), and moved back if the new run fails before that.
class ReplacedRun {
 public:
  explicit ReplacedRun(const std::string& dir) : dir_(dir), aside_(dir + "/.replaced") {
    if (fs::exists(aside_))
      throw Error("--force: " + aside_ +
                  " already exists (left by an interrupted --force run: it holds the run before that one); "
                  "move or delete it first");
    make_directories(aside_);
    for (const char* f : kRunOutputs)
      if (fs::exists(dir_ + "/" + f)) {
        fs::rename(dir_ + "/" + f, aside_ + "/" + f);
        moved_.push_back(f);
      }
  }
  ~ReplacedRun() {
    if (discarded_) return;
    // The new run failed before its first checkpoint: its partial outputs go, the old run comes back.
    std::error_code ec;
    for (const std::string& f : moved_) {
      fs::remove_all(dir_ + "/" + f, ec);
      fs::rename(aside_ + "/" + f, dir_ + "/" + f, ec);
    }
    fs::remove_all(aside_, ec);
    std::fprintf(stderr, "prism: the previous run in %s was put back\n", dir_.c_str());
  }
  void discard() {
    fs::remove_all(aside_);
    discarded_ = true;
  }
  ReplacedRun(const ReplacedRun&) = delete;
  ReplacedRun& operator=(const ReplacedRun&) = delete;

 private:
  std::string dir_, aside_;
  std::vector<std::string> moved_;
  bool discarded_ = false;
};

// Training time across the parts of a resumed run, in DIR/run_time.json beside the checkpoint (not in it:
// checkpoints of identical states stay byte-identical).
struct RunTime {
  int64_t iteration = 0, images = 0;
  double train_seconds = 0;
};

RunTime read_run_time(const std::string& path, int64_t iteration) {
  RunTime t;
  if (fs::exists(path)) {
    const auto j = nlohmann::json::parse(read_file(path), nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.value("iteration", int64_t(-1)) == iteration) {
      t.iteration = iteration;
      t.images = j.value("images", int64_t(0));
      t.train_seconds = j.value("train_seconds", 0.0);
      return t;
    }
  }
  std::fprintf(stderr,
               "prism: warning: %s is missing or is not for iteration %lld; train_seconds will "
               "cover only the iterations from here on\n",
               path.c_str(), static_cast<long long>(iteration));
  return t;
}

void write_run_time(const std::string& path, const RunTime& t) {
  nlohmann::ordered_json j;
  j["iteration"] = t.iteration;
  j["images"] = t.images;
  j["train_seconds"] = t.train_seconds;
  write_file_atomic(path, j.dump(2) + "\n");
}

// A run killed during an atomic write leaves that write's temporary file (`<name>.tmp.XXXXXX`, see
// write_file_atomic) beside the real one, which is whole. A resumed or restarted run removes them.
void remove_stale_temporaries(const std::string& dir) {
  for (const std::string& d : {dir, dir + "/report"}) {
    if (!fs::is_directory(d)) continue;
    for (const auto& e : fs::directory_iterator(d)) {
      const std::string name = e.path().filename().string();
      const size_t tmp = name.rfind(".tmp.");
      if (e.is_regular_file() && tmp != std::string::npos && name.size() == tmp + 11) fs::remove(e.path());
    }
  }
}

}  // namespace

Config load_run_config(const std::string& run_dir) {
  const std::string path = run_dir + "/config.yaml";
  if (!fs::exists(path))
    throw Error("--resume " + run_dir + ": no config.yaml there (is it a prism run directory?)");
  return load_config(path);
}

TrainSummary train(const Config& cfg, const TrainOptions& options) {
  const std::string& out = options.out_dir;
  if (out.empty()) throw Error("train: no output directory (--out)");
  const std::string checkpoint_path = out + "/checkpoint.safetensors", time_path = out + "/run_time.json";
  const bool had_run = fs::exists(checkpoint_path);
  if (!options.resume && had_run && !options.overwrite)
    throw Error("--out " + out + " already holds a run (checkpoint.safetensors); use --resume " + out +
                " to continue it, --force to start it afresh, or choose another directory");
  // A run killed before its first checkpoint (between writing config.yaml and the iteration-0 checkpoint)
  // resumes from the start.
  const bool resume_from_start = options.resume && !had_run;
  if (resume_from_start && !fs::exists(out + "/config.yaml"))
    throw Error("--resume " + out + ": no checkpoint.safetensors there");

  // ---- the run: the config's one validation, then data, model, optimizer, DML parts; the old run of --force
  // is moved aside only once they are built
  validate_config(cfg);
  set_mode(parse_mode(cfg.run.mode));
  set_num_threads(static_cast<int>(cfg.run.threads));
  const DeviceType device = parse_device(cfg.run.device);
  backend(device);        // throws naming why the device is unavailable
  make_directories(out);  // an unwritable --out fails before the data is read
  const DataSetup data = open_datasets(cfg);
  TrainingRun run(cfg, data.train, device);

  remove_stale_temporaries(out);
  std::optional<ReplacedRun> replaced;
  if (!options.resume && had_run) replaced.emplace(out);
  if (!options.resume) write_file_atomic(out + "/config.yaml", config_to_yaml(cfg));
  MetricsLog metrics(out + "/metrics.jsonl");
  RunTime time;
  if (resume_from_start) {
    std::fprintf(stderr, "prism: %s has no checkpoint yet: starting it from iteration 0\n", out.c_str());
  } else if (options.resume) {
    run.load_checkpoint(checkpoint_path);
    metrics.load(run.iteration());
    time = read_run_time(time_path, run.iteration());
    std::fprintf(stderr, "prism: resuming %s at iteration %lld\n", out.c_str(),
                 static_cast<long long>(run.iteration()));
  }
  const int64_t total = cfg.solver.max_iters;
  const int64_t end = options.stop_after >= 0 ? std::min(total, options.stop_after) : total;
  const int64_t batch_size = cfg.data.train_batchsize;
  const uint64_t seed = static_cast<uint64_t>(cfg.seed);
  const std::string method = run.method().name;
  auto checkpoint = [&] {
    run.save_checkpoint(checkpoint_path);
    time.iteration = run.iteration();
    write_run_time(time_path, time);
    if (replaced) {  // the new run can be resumed from now on: the old one goes
      replaced->discard();
      replaced.reset();
    }
  };
  auto evaluate = [&](int64_t iteration, Tensor* embeddings) {
    Tensor emb = embed_dataset(run.model(), *data.test, cfg.data.test_batchsize, seed, device);
    const dml::RetrievalMetrics m = dml::evaluate_retrieval(emb, data.test->labels());
    metrics.add(eval_record(iteration, m));
    if (embeddings) *embeddings = emb;
    return m;
  };

  // A fresh run checkpoints its untrained state first, so that a run killed at any moment can be resumed.
  // Not under --force: there the old run stays aside until the new one has trained to its first checkpoint.
  if (!fs::exists(checkpoint_path) && !replaced) checkpoint();

  // ---- the loop
  std::fprintf(stderr,
               "prism: %s on %s (%s, %s mode, %d threads): %lld iterations, batch %lld = %lld x %lld\n",
               method.c_str(), data.train->describe().c_str(), device_name(device), mode_name(mode()),
               num_threads(), static_cast<long long>(total), static_cast<long long>(batch_size),
               static_cast<long long>(batch_size / cfg.data.num_instances),
               static_cast<long long>(cfg.data.num_instances));
  std::unique_ptr<BatchPrefetcher> prefetch;
  auto submit = [&](int64_t it) {
    prefetch->submit(run.batch_indices(it), static_cast<uint64_t>(it * batch_size));
  };
  if (cfg.data.prefetch && run.iteration() < end) {
    prefetch = std::make_unique<BatchPrefetcher>(data.train, true, seed);
    submit(run.iteration());
  }
  std::optional<Progress> progress;
  if (options.progress) progress.emplace(method, end, run.iteration());
  double part_seconds = 0, window_seconds = 0;
  int64_t part_images = 0, window_images = 0;
  while (run.iteration() < end) {
    const int64_t it = run.iteration();
    const auto t0 = std::chrono::steady_clock::now();
    Batch batch;
    if (prefetch) {
      if (it + 1 < end) submit(it + 1);
      batch = prefetch->take();
    } else {
      batch = run.load_batch(it);
    }
    StepResult r;
    try {
      r = run.step(batch);
    } catch (const DivergedError& e) {  // only divergence gets the learning-rate hint
      throw Error(std::string(e.what()) + "; stopping (" +
                  (fs::exists(checkpoint_path) ? "the last checkpoint in " + out + " is intact"
                                               : "no checkpoint was written yet") +
                  "). Try a smaller SOLVER.BASE_LR.");
    }
    const double step_seconds = seconds_since(t0);
    time.train_seconds += step_seconds;
    time.images += batch_size;
    part_seconds += step_seconds;
    part_images += batch_size;
    window_seconds += step_seconds;
    window_images += batch_size;
    const bool last = r.iteration == end;
    if (r.iteration % std::max<int64_t>(1, cfg.run.log_every) == 0 || last) {
      metrics.add(step_record(r, window_images / std::max(window_seconds, 1e-9)));
      window_seconds = 0;
      window_images = 0;
    }
    if (progress) {
      char fields[160];
      const std::string precision =
          r.has_noise_flags && std::isfinite(r.selection.stats.precision)
              ? std::to_string(static_cast<int>(std::lround(100 * r.selection.stats.precision))) + "%"
              : "-";
      std::snprintf(fields, sizeof fields, "loss %.4f  kept %.2f  prec %s", r.loss,
                    r.selection.stats.kept_ratio, precision.c_str());
      progress->update(r.iteration, fields);
    }
    // Periodic evaluations happen whether or not the run stops here, and before this iteration's checkpoint:
    // a checkpoint at N implies that N's record is logged, so a run killed anywhere and resumed logs the same
    // records as an uninterrupted one. The final evaluation is below.
    const int64_t eval_every = cfg.validation.verbose;
    if (r.iteration < total && eval_every > 0 && r.iteration % eval_every == 0)
      evaluate(r.iteration, nullptr);
    const int64_t period = cfg.solver.checkpoint_period;
    if (last || (period > 0 && r.iteration % period == 0)) checkpoint();
  }
  if (!fs::exists(checkpoint_path)) checkpoint();  // --force with --stop-after 0: resumable all the same
  if (progress)
    progress->finish(part_images > 0 ? "img/s " + std::to_string(static_cast<int>(part_images / part_seconds))
                                     : "");

  TrainSummary s;
  s.method = method;
  s.noise_rate = cfg.noise.type == "none" ? cfg.noise.noise_rate : cfg.effective_inject_rate();
  s.iterations = run.iteration();
  s.kept_precision = run.totals().precision();
  s.noise_recall = run.totals().recall();
  s.train_seconds = time.train_seconds;
  s.images_per_second = time.train_seconds > 0 ? static_cast<double>(time.images) / time.train_seconds : 0;
  s.device = device_name(device);
  s.mode = mode_name(mode());
  s.seed = cfg.seed;
  s.out_dir = out;
  if (run.iteration() < total) {
    std::fprintf(stderr, "prism: stopped after iteration %lld of %lld; continue with --resume %s\n",
                 static_cast<long long>(run.iteration()), static_cast<long long>(total), out.c_str());
    return s;
  }

  // ---- final evaluation and outputs
  Tensor test_emb;
  const dml::RetrievalMetrics m = evaluate(run.iteration(), &test_emb);
  s.precision_at_1 = m.precision_at_1;
  s.map_at_r = m.map_at_r;
  s.r_precision = m.r_precision;
  s.finished = true;
  const std::vector<float> emb_host = test_emb.to_vector();
  write_npy_f32(out + "/test_embeddings.npy", test_emb.shape(), emb_host);
  write_npy_i32(out + "/test_labels.npy", data.test->labels());
  write_run_plots(out + "/report", metrics.records());
  try {
    write_retrieval_gallery(out + "/report/gallery.png", *data.test, emb_host, test_emb.size(1));
  } catch (const Error& e) {  // feature datasets have no pictures
    std::fprintf(stderr, "prism: no retrieval gallery: %s\n", e.what());
  }
  write_file_atomic(out + "/summary.json", summary_json(s).dump(2) + "\n");
  return s;
}

}  // namespace prism
