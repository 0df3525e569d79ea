// The training loop of DESIGN §4 and its run directory (reference code). One iteration: sample a P×K batch →
// forward → read the memory → P_clean and keep mask → loss = batch loss on kept samples + w · memory loss
// (rows of removed samples masked) → backward → optimizer step (LR from the schedule) → enqueue the kept
// samples. Every random choice is a pure function of (seed, iteration), and the checkpoint holds all other
// state, so a resumed run continues bit for bit (exact mode).
#include "prism/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "prism/core/autograd.hpp"
#include "prism/core/io.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/npy.hpp"
#include "prism/data/prefetch.hpp"
#include "prism/dml/contrastive.hpp"
#include "prism/dml/metrics.hpp"
#include "prism/dml/noise.hpp"
#include "prism/nn/models.hpp"
#include "prism/nn/schedule.hpp"
#include "prism/train/checkpoint.hpp"
#include "prism/train/data_setup.hpp"
#include "prism/train/progress.hpp"
#include "prism/train/report.hpp"

namespace prism {

namespace {

using json = nlohmann::ordered_json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

json number_or_null(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

dml::SelectMethod selection_method(const std::string& method) {
  if (method == "contrastive" || method == "xbm") return dml::SelectMethod::none;
  return dml::parse_select_method(method);  // trm | prism | oracle
}

// The DML label-noise generators, bound to the data layer's hook (NOISE.TYPE).
NoiseGenerator noise_generator(const Config& c) {
  if (c.noise.type == "none") return {};
  return [c](const Dataset& clean) {
    dml::NoiseResult r;
    const uint64_t seed = static_cast<uint64_t>(c.seed);
    if (c.noise.type == "symmetric") {
      r = dml::symmetric_noise(clean.labels(), c.effective_inject_rate(), seed);
    } else {
      int64_t dim = 0;
      const std::vector<float> features = sample_features(clean, &dim);
      dml::SmallClusterOptions opt;
      opt.rate = c.effective_inject_rate();
      opt.seed = seed;
      opt.cluster_size = c.noise.cluster_size;
      r = dml::small_cluster_noise(clean.labels(), features.data(), dim, opt);
    }
    std::fprintf(stderr, "prism: %s noise on the training set: %lld of %lld labels changed (%.1f%%)\n",
                 c.noise.type.c_str(), static_cast<long long>(r.num_noisy),
                 static_cast<long long>(r.labels.size()), 100.0 * r.rate);
    return NoisyLabels{r.labels, r.noisy};
  };
}

std::unique_ptr<nn::Optimizer> make_optimizer(const Config& c, nn::Module& model) {
  if (c.solver.optimizer_name == "SGD") {
    nn::SgdOptions o;
    o.lr = c.solver.base_lr;
    o.momentum = c.solver.momentum;
    o.weight_decay = c.solver.weight_decay;
    return std::make_unique<nn::Sgd>(model.named_parameters(), o);
  }
  nn::AdamOptions o;
  o.lr = c.solver.base_lr;
  o.weight_decay = c.solver.weight_decay;
  return std::make_unique<nn::Adam>(model.named_parameters(), o);
}

// Embeddings of a whole dataset with the test transform, model in eval mode, no graph.
Tensor embed_dataset(nn::Module& model, const Dataset& data, int64_t batch, uint64_t seed,
                     DeviceType device) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  Tensor out;
  std::vector<float> all;
  int64_t dim = 0;
  for (int64_t b0 = 0; b0 < data.size(); b0 += batch) {
    std::vector<int64_t> idx;
    for (int64_t i = b0; i < std::min(data.size(), b0 + batch); ++i) idx.push_back(i);
    Batch b = data.load_batch(idx, false, seed, 0);
    std::vector<float> e = model.forward(b.inputs.to(device)).to_vector();
    dim = static_cast<int64_t>(e.size()) / static_cast<int64_t>(idx.size());
    all.insert(all.end(), e.begin(), e.end());
  }
  model.train(was_training);
  return Tensor::from_vector({data.size(), dim}, all);
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

// 8 queries spread over the test set, each with its 8 nearest neighbours (self excluded; ties by index).
void write_gallery(const std::string& path, const Dataset& test, const std::vector<float>& emb, int64_t dim) {
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

// The metrics log: kept in memory and rewritten atomically, so metrics.jsonl is always whole.
class MetricsLog {
 public:
  explicit MetricsLog(std::string path) : path_(std::move(path)) {}
  // Keeps the records up to `iteration` of an existing log (resume).
  void load(int64_t iteration) {
    if (!std::filesystem::exists(path_)) return;
    std::istringstream in(read_file(path_));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded()) throw Error(path_ + ": malformed line '" + line + "'");
      if (j.value("iteration", int64_t(0)) <= iteration) records_.push_back(j);
    }
  }
  void add(json record) {
    records_.push_back(std::move(record));
    flush();
  }
  void flush() const {
    std::string text;
    for (const auto& r : records_) text += r.dump() + "\n";
    write_file_atomic(path_, text);
  }
  const std::vector<json>& records() const { return records_; }

 private:
  std::string path_;
  std::vector<json> records_;
};

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

void write_report(const std::string& dir, const std::vector<json>& records) {
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

// Running totals of the selection statistics since the memory came into use.
struct SelectionTotals {
  int64_t kept = 0, clean_kept = 0, noisy = 0, noisy_removed = 0;
  void add(const dml::SelectionStats& s) {
    if (s.noisy < 0) return;
    kept += s.kept;
    clean_kept += s.clean_kept;
    noisy += s.noisy;
    noisy_removed += s.noisy_removed;
  }
  double precision() const { return kept > 0 ? static_cast<double>(clean_kept) / kept : kNaN; }
  double recall() const { return noisy > 0 ? static_cast<double>(noisy_removed) / noisy : kNaN; }
};

}  // namespace

Config load_run_config(const std::string& run_dir) {
  const std::string path = run_dir + "/config.yaml";
  if (!std::filesystem::exists(path))
    throw Error("--resume " + run_dir + ": no config.yaml there (is it a prism run directory?)");
  return load_config(path);
}

TrainSummary train(const Config& cfg, const TrainOptions& options) {
  validate_config(cfg);
  const std::string& out = options.out_dir;
  if (out.empty()) throw Error("train: no output directory (--out)");
  const std::string checkpoint_path = out + "/checkpoint.safetensors";
  if (!options.resume && std::filesystem::exists(checkpoint_path)) {
    if (!options.overwrite)
      throw Error("--out " + out + " already holds a run (checkpoint.safetensors); use --resume " + out +
                  " to continue it, --force to start it afresh, or choose another directory");
    // Start afresh: remove the old run's outputs so nothing stale (summary, report) survives a shorter run.
    for (const char* f : {"checkpoint.safetensors", "summary.json", "metrics.jsonl", "test_embeddings.npy",
                          "test_labels.npy", "config.yaml"})
      std::filesystem::remove(out + "/" + f);
    std::filesystem::remove_all(out + "/report");
  }
  if (options.resume && !std::filesystem::exists(checkpoint_path))
    throw Error("--resume " + out + ": no checkpoint.safetensors there");

  // ---- runtime
  // ------------------------------------------------------------------------------------------------
  set_mode(parse_mode(cfg.run.mode));
  set_num_threads(static_cast<int>(cfg.run.threads));
  const DeviceType device = parse_device(cfg.run.device);
  backend(device);  // throws naming why the device is unavailable
  make_directories(out);
  if (!options.resume) write_file_atomic(out + "/config.yaml", config_to_yaml(cfg));

  // ---- data, model, optimizer, DML components
  // -------------------------------------------------------------------
  const DataSetup data = open_datasets(cfg, noise_generator(cfg));
  const DatasetPtr& train_set = data.train;
  const int32_t num_classes = train_set->num_classes();
  const std::string method = cfg.noise.method;
  const bool memory_method = cfg.uses_memory();
  if (method == "oracle" && !train_set->has_noise_flags())
    throw Error("NOISE.METHOD oracle needs known noise flags (NOISE.TYPE or DATA.TRAIN_CLEAN_SOURCE)");

  nn::ModelOptions mo;
  mo.embed_dim = cfg.model.head_dim;
  mo.hidden = cfg.model.mlp_hidden;
  mo.seed = static_cast<uint64_t>(cfg.seed);
  const Shape sample = train_set->sample_shape();
  if (cfg.model.name == "mlp") {
    if (sample.size() != 1) throw Error("MODEL.NAME mlp needs feature vectors (DATA.DATASET npy)");
    mo.in_features = sample[0];
  } else {
    if (sample.size() != 3) throw Error("MODEL.NAME " + cfg.model.name + " needs images [C, H, W]");
    mo.in_channels = sample[0];
  }
  std::shared_ptr<nn::Module> model = nn::make_model(cfg.model.name, mo);
  model->to(device);
  model->train();
  std::unique_ptr<nn::Optimizer> optimizer = make_optimizer(cfg, *model);
  nn::CosineSchedule schedule{cfg.solver.base_lr, 0.0, cfg.solver.max_iters, cfg.solver.warmup_iters};
  if (cfg.solver.lr_schedular == "cos") schedule.validate();

  std::unique_ptr<dml::MemoryBank> bank;
  if (memory_method)
    bank = std::make_unique<dml::MemoryBank>(cfg.xbm.size, cfg.model.head_dim, num_classes, device);
  dml::SelectorConfig sc;
  sc.method = selection_method(method);
  sc.noise_rate = cfg.noise.noise_rate;
  sc.window = cfg.noise.window_size;
  sc.warmup = cfg.noise.warm_up;
  dml::Selector selector(sc);
  dml::PKSampler sampler(train_set->labels(), cfg.data.train_batchsize, cfg.data.num_instances,
                         static_cast<uint64_t>(cfg.seed));
  dml::ContrastiveOptions loss_opt;
  loss_opt.margin = static_cast<float>(cfg.losses.margin);

  TrainState state{model.get(), optimizer.get(), bank.get(), &selector, &sampler, 0};
  MetricsLog metrics(out + "/metrics.jsonl");
  if (options.resume) {
    load_checkpoint(checkpoint_path, state, method);
    metrics.load(state.iteration);
    std::fprintf(stderr, "prism: resuming %s at iteration %lld\n", out.c_str(),
                 static_cast<long long>(state.iteration));
  }
  const int64_t total = cfg.solver.max_iters;
  const int64_t end = options.stop_after >= 0 ? std::min(total, options.stop_after) : total;
  const int64_t batch_size = cfg.data.train_batchsize;
  const uint64_t seed = static_cast<uint64_t>(cfg.seed);

  // ---- evaluation
  // ----------------------------------------------------------------------------------------------
  auto evaluate = [&](int64_t iteration, Tensor* embeddings) {
    Tensor emb = embed_dataset(*model, *data.test, cfg.data.test_batchsize, seed, device);
    const dml::RetrievalMetrics m = dml::evaluate_retrieval(emb, data.test->labels());
    json rec;
    rec["iteration"] = iteration;
    rec["eval"] = {{"precision_at_1", m.precision_at_1}, {"map_at_r", m.map_at_r},
                   {"r_precision", m.r_precision},       {"recall_at_1", m.recall_at_1},
                   {"recall_at_8", m.recall_at_8},       {"num_queries", m.num_queries}};
    metrics.add(rec);
    if (embeddings) *embeddings = emb;
    return m;
  };

  // ---- the loop
  // ----------------------------------------------------------------------------------------------
  std::fprintf(
      stderr, "prism: %s on %s (%s, %s mode, %d threads): %lld iterations, batch %lld = %lld x %lld\n",
      method.c_str(), train_set->describe().c_str(), device_name(device), mode_name(mode()), num_threads(),
      static_cast<long long>(total), static_cast<long long>(batch_size),
      static_cast<long long>(sampler.classes_per_batch()), static_cast<long long>(sampler.instances()));
  std::unique_ptr<BatchPrefetcher> prefetch;
  auto batch_indices = [&](int64_t it) { return sampler.batch(static_cast<uint64_t>(it)).indices; };
  auto load = [&](int64_t it) {
    return train_set->load_batch(batch_indices(it), true, seed, static_cast<uint64_t>(it * batch_size));
  };
  if (cfg.data.prefetch && state.iteration < end) {
    prefetch = std::make_unique<BatchPrefetcher>(train_set, true, seed);
    prefetch->submit(batch_indices(state.iteration), static_cast<uint64_t>(state.iteration * batch_size));
  }
  std::optional<Progress> progress;
  if (options.progress) progress.emplace(method, end, state.iteration);
  SelectionTotals totals;
  double train_seconds = 0;
  int64_t images = 0;
  double window_seconds = 0;
  int64_t window_images = 0;
  for (int64_t it = state.iteration; it < end; ++it) {
    const auto t0 = std::chrono::steady_clock::now();
    Batch batch;
    if (prefetch) {
      if (it + 1 < end) prefetch->submit(batch_indices(it + 1), static_cast<uint64_t>((it + 1) * batch_size));
      batch = prefetch->take();
    } else {
      batch = load(it);
    }
    const std::vector<int32_t> labels = batch.labels.to_vector_i32();
    std::vector<uint8_t> flags;
    if (train_set->has_noise_flags())
      for (int64_t idx : batch.indices) flags.push_back(train_set->noise_flag(idx));
    const std::vector<uint8_t>* flags_ptr = flags.empty() ? nullptr : &flags;

    Tensor emb = model->forward(batch.inputs.to(device));
    const bool memory_on = memory_method && it >= cfg.xbm.start_iteration;
    dml::Selection sel =
        memory_on ? selector.select(it, emb.detach(), labels, bank.get(), flags_ptr) : dml::Selection{};
    if (!memory_on) {
      sel.keep.assign(labels.size(), 1);
      sel.threshold = kNaN;
      sel.stats = dml::selection_stats(sel.keep, flags_ptr);
    }
    if (memory_on || !memory_method) totals.add(sel.stats);
    const Tensor labels_t = dml::label_tensor(labels, device);
    const Tensor keep_t = dml::mask_tensor(sel.keep, device);
    Tensor batch_loss = dml::batch_contrastive_loss(emb, labels_t, keep_t, loss_opt);
    Tensor loss = batch_loss, memory_loss;
    if (memory_on && !bank->empty()) {
      memory_loss = dml::memory_contrastive_loss(emb, labels_t, keep_t, bank->embeddings(),
                                                 bank->labels_device(), loss_opt);
      loss = add(batch_loss, scale(memory_loss, static_cast<float>(cfg.xbm.weight)));
    }
    // The contrastive loss skips pairs whose similarity is NaN (as the official code does), so non-finite
    // embeddings are checked directly as well as the loss.
    const float loss_value = loss.item(), emb_sum = sum(emb.detach()).item();
    if (!std::isfinite(loss_value) || !std::isfinite(emb_sum))
      throw Error(std::string(std::isfinite(loss_value) ? "the embeddings became non-finite"
                                                        : "the loss became " + std::to_string(loss_value)) +
                  " at iteration " + std::to_string(it + 1) + "; stopping (the last checkpoint in " + out +
                  " is intact). Try a smaller SOLVER.BASE_LR.");
    const double lr = cfg.solver.lr_schedular == "cos" ? schedule.lr_at(it) : cfg.solver.base_lr;
    optimizer->zero_grad();
    if (loss.requires_grad()) loss.backward();
    optimizer->set_lr(lr);
    optimizer->step();
    if (memory_on) {
      const std::vector<uint8_t> all;
      bank->enqueue(emb.detach(), labels, batch.indices, method == "xbm" ? all : sel.keep);
    }
    state.iteration = it + 1;

    const double step_seconds = seconds_since(t0);
    train_seconds += step_seconds;
    images += batch_size;
    window_seconds += step_seconds;
    window_images += batch_size;
    const bool last = state.iteration == end;
    if (state.iteration % std::max<int64_t>(1, cfg.run.log_every) == 0 || last) {
      json rec;
      rec["iteration"] = state.iteration;
      rec["loss"] = loss_value;
      rec["batch_loss"] = batch_loss.item();
      rec["memory_loss"] = memory_loss.defined() ? json(memory_loss.item()) : json(nullptr);
      rec["lr"] = lr;
      rec["kept_ratio"] = sel.stats.kept_ratio;
      rec["threshold"] = number_or_null(sel.threshold);
      rec["kept_precision"] = flags_ptr ? number_or_null(sel.stats.precision) : json(nullptr);
      rec["noise_recall"] = flags_ptr ? number_or_null(sel.stats.recall) : json(nullptr);
      rec["memory_size"] = bank ? bank->size() : 0;
      rec["images_per_second"] = window_images / std::max(window_seconds, 1e-9);
      metrics.add(rec);
      window_seconds = 0;
      window_images = 0;
    }
    char fields[160];
    std::snprintf(
        fields, sizeof fields, "loss %.4f  kept %.2f  prec %s", loss_value, sel.stats.kept_ratio,
        flags_ptr && std::isfinite(sel.stats.precision)
            ? (std::to_string(static_cast<int>(std::lround(100 * sel.stats.precision))) + "%").c_str()
            : "-");
    if (progress) progress->update(state.iteration, fields);
    const int64_t period = cfg.solver.checkpoint_period;
    if (last || (period > 0 && state.iteration % period == 0))
      save_checkpoint(checkpoint_path, state, method);
    // Periodic evaluations happen whether or not the run stops here, so an interrupted and resumed run logs
    // the same records as an uninterrupted one; the final one is below.
    const int64_t eval_every = cfg.validation.verbose;
    if (state.iteration < total && eval_every > 0 && state.iteration % eval_every == 0)
      evaluate(state.iteration, nullptr);
  }
  if (progress)
    progress->finish(images > 0 ? "img/s " + std::to_string(static_cast<int>(images / train_seconds)) : "");

  TrainSummary s;
  s.method = method;
  s.noise_rate = cfg.noise.type == "none" ? cfg.noise.noise_rate : cfg.effective_inject_rate();
  s.iterations = state.iteration;
  s.kept_precision = totals.precision();
  s.noise_recall = totals.recall();
  s.train_seconds = train_seconds;
  s.images_per_second = train_seconds > 0 ? images / train_seconds : 0;
  s.device = device_name(device);
  s.mode = mode_name(mode());
  s.seed = cfg.seed;
  s.out_dir = out;
  if (state.iteration < total) {
    std::fprintf(stderr, "prism: stopped after iteration %lld of %lld; continue with --resume %s\n",
                 static_cast<long long>(state.iteration), static_cast<long long>(total), out.c_str());
    return s;
  }

  // ---- final evaluation and outputs
  // ------------------------------------------------------------------------------
  Tensor test_emb;
  const dml::RetrievalMetrics m = evaluate(state.iteration, &test_emb);
  s.precision_at_1 = m.precision_at_1;
  s.map_at_r = m.map_at_r;
  s.r_precision = m.r_precision;
  s.finished = true;
  const std::vector<float> emb_host = test_emb.to_vector();
  write_npy_f32(out + "/test_embeddings.npy", test_emb.shape(), emb_host);
  write_npy_i32(out + "/test_labels.npy", data.test->labels());
  write_report(out + "/report", metrics.records());
  try {
    write_gallery(out + "/report/gallery.png", *data.test, emb_host, test_emb.size(1));
  } catch (const Error& e) {  // feature datasets have no pictures
    std::fprintf(stderr, "prism: no retrieval gallery: %s\n", e.what());
  }
  write_file_atomic(out + "/summary.json", summary_json(s).dump(2) + "\n");
  return s;
}

}  // namespace prism
