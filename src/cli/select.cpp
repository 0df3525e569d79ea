// prism select: one selection step on saved embeddings, for inspecting and teaching — the memory bank is
// filled with the given rows, the window starts empty, and the clean probability (or kNN score), threshold
// and keep mask of the batch are printed (a table sorted by value, or JSON), with each class's κ and ln C_d
// for the vMF forms. Reference wiring of dml::MemoryBank + dml::Selector (+ dml::vmf_fit).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/dml_inputs.hpp"
#include "cli/runtime_options.hpp"
#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/data/npy.hpp"
#include "prism/dml/selector.hpp"
#include "prism/dml/vmf.hpp"

namespace prism::cli {

namespace {

struct SelectArgs {
  std::string memory_embeddings, memory_labels, embeddings, labels, form = "center", method = "prism", flags;
  int64_t num_classes = 0, knn_k = 10;
  double noise_rate = -1, knn_alpha = 0.5;
  bool no_normalize = false, json = false;
  RuntimeOptions rt;
};

std::vector<uint8_t> load_flags(const std::string& path, int64_t n) {
  const NpyArray a = read_npy(path);
  if (a.shape.size() != 1 || a.shape[0] != n)
    throw Error(path + ": noise flags must be a 1-D array of " + std::to_string(n) + " entries");
  std::vector<uint8_t> f(n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = 0;
    if (a.type == NpyType::u8)
      v = static_cast<uint8_t>(a.data[i]);
    else if (a.type == NpyType::i32) {
      int32_t x;
      std::memcpy(&x, a.data.data() + 4 * i, 4);
      v = x;
    } else if (a.type == NpyType::i64)
      std::memcpy(&v, a.data.data() + 8 * i, 8);
    else
      throw Error(path + ": noise flags must be uint8, int32 or int64 (or bool saved as uint8), got " +
                  npy_type_name(a.type));
    if (v != 0 && v != 1)
      throw Error(path + ": noise flag " + std::to_string(v) + " at " + std::to_string(i) + " is not 0/1");
    f[i] = static_cast<uint8_t>(v);
  }
  return f;
}

void check_labels(const std::vector<int32_t>& y, int64_t C, const std::string& path) {
  for (size_t i = 0; i < y.size(); ++i)
    if (y[i] >= C)
      throw Error(path + ": label " + std::to_string(y[i]) + " at index " + std::to_string(i) +
                  " is not below --num-classes " + std::to_string(C));
}

void run_select(const SelectArgs& a) {
  const DeviceType device = apply_runtime_options(a.rt);
  if (a.num_classes < 1)
    throw Error("select: --num-classes must be >= 1, got " + std::to_string(a.num_classes));
  dml::SelectorConfig cfg;
  cfg.method = dml::parse_select_method(a.method);
  const bool knn = cfg.method == dml::SelectMethod::knn;
  if (cfg.method != dml::SelectMethod::prism && cfg.method != dml::SelectMethod::trm && !knn)
    throw Error("select: --method must be prism, trm or knn, got '" + a.method + "'");
  if (!knn && a.noise_rate < 0) throw Error("select: --noise-rate is required with --method " + a.method);
  if (!knn && !(a.noise_rate >= 0.0 && a.noise_rate <= 1.0))
    throw Error("select: --noise-rate must be in [0, 1], got " + std::to_string(a.noise_rate));
  if (a.knn_k < 1) throw Error("select: --knn-k must be >= 1, got " + std::to_string(a.knn_k));
  if (!(a.knn_alpha >= 0.0 && a.knn_alpha <= 1.0))
    throw Error("select: --knn-alpha must be in [0, 1], got " + std::to_string(a.knn_alpha));
  cfg.form = dml::parse_clean_form(a.form);
  cfg.noise_rate = knn ? 0.0 : a.noise_rate;
  cfg.knn_k = a.knn_k;
  cfg.knn_alpha = a.knn_alpha;
  const bool vmf_form = !knn && (cfg.form == dml::CleanForm::vmf || cfg.form == dml::CleanForm::vmf_log);
  const bool log_scale = !knn && dml::clean_form_spec(cfg.form).log_scale;

  const Embeddings mem = load_embeddings(a.memory_embeddings, "memory embeddings");
  const std::vector<int32_t> ym = load_labels(a.memory_labels, mem.rows, a.memory_embeddings);
  const Embeddings f = load_embeddings(a.embeddings, "embeddings");
  const std::vector<int32_t> y = load_labels(a.labels, f.rows, a.embeddings);
  if (f.cols != mem.cols)
    throw Error("select: " + a.embeddings + " has " + std::to_string(f.cols) + " columns, " +
                a.memory_embeddings + " has " + std::to_string(mem.cols));
  check_labels(ym, a.num_classes, a.memory_labels);
  check_labels(y, a.num_classes, a.labels);
  std::vector<uint8_t> flags;
  if (!a.flags.empty()) flags = load_flags(a.flags, f.rows);

  NoGradGuard no_grad;
  Tensor M = to_tensor(mem, device), F = to_tensor(f, device);
  if (!a.no_normalize) {
    M = l2_normalize(M);
    F = l2_normalize(F);
  }
  dml::MemoryBank bank(mem.rows, mem.cols, static_cast<int32_t>(a.num_classes), device);
  bank.enqueue(M, ym, {});
  dml::Selector selector(cfg);
  const dml::Selection s = selector.select(0, F, y, &bank, flags.empty() ? nullptr : &flags);
  dml::VmfFit fit;
  if (vmf_form) fit = dml::vmf_fit(bank);
  // One value per class, null (JSON) where the class has no memory rows.
  const auto per_class = [&](const std::vector<double>& v) {
    nlohmann::json arr = nlohmann::json::array();
    for (int64_t k = 0; k < a.num_classes; ++k)
      arr.push_back(fit.count[k] > 0 ? nlohmann::json(v[k]) : nlohmann::json(nullptr));
    return arr;
  };
  // NaN probabilities rank lowest and are removed; the inputs are finite (read_embeddings checks), so a NaN
  // here means the similarities overflowed: unnormalised rows (--no-normalize) with |f·w| beyond float make
  // softmax compute inf − inf. Say so instead of removing samples on it.
  for (size_t i = 0; i < s.p_clean.size(); ++i)
    if (std::isnan(s.p_clean[i]))
      throw Error("select: the clean probability of sample " + std::to_string(i) + " of " + a.embeddings +
                  " is NaN although every input is finite: its similarities overflow float" +
                  (a.no_normalize ? " (drop --no-normalize, or scale the embeddings)" : ""));

  std::vector<int64_t> removed;
  for (size_t i = 0; i < s.keep.size(); ++i)
    if (!s.keep[i]) removed.push_back(static_cast<int64_t>(i));
  if (a.json) {
    nlohmann::json out;
    out[knn ? "knn_score" : log_scale ? "log_clean_probability" : "clean_probability"] = s.p_clean;
    out["threshold"] = s.threshold;
    out["keep"] = std::vector<bool>(s.keep.begin(), s.keep.end());
    out["removed"] = removed;
    out["candidates"] = s.candidates;
    out["r"] = s.r;
    out["window"] = std::vector<float>(selector.window().begin(), selector.window().end());
    out["method"] = a.method;
    if (knn) {
      out["knn_k"] = a.knn_k;
      out["knn_alpha"] = a.knn_alpha;
    } else {
      out["form"] = a.form;
    }
    if (vmf_form) {
      out["kappa"] = per_class(fit.kappa);
      out["log_normalizer"] = per_class(fit.log_c);
      out["mean_resultant_length"] = per_class(fit.mean_length);
    }
    out["kept"] = s.stats.kept;
    out["memory_rows"] = mem.rows;
    out["device"] = device_name(device);
    out["mode"] = mode_name(mode());
    if (!flags.empty()) {
      out["precision"] = s.stats.precision;
      out["recall"] = s.stats.recall;
    }
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  if (knn)
    std::printf("knn selection: n = %zu, k = %lld, alpha = %g, memory %lld rows × %lld, C = %lld\n", y.size(),
                static_cast<long long>(a.knn_k), a.knn_alpha, static_cast<long long>(mem.rows),
                static_cast<long long>(mem.cols), static_cast<long long>(a.num_classes));
  else
    std::printf(
        "%s selection, %s form: n = %zu, R = %g, r = floor(R·n) = %lld, memory %lld rows × %lld, C = %lld\n",
        a.method.c_str(), a.form.c_str(), y.size(), a.noise_rate, static_cast<long long>(s.r),
        static_cast<long long>(mem.rows), static_cast<long long>(mem.cols),
        static_cast<long long>(a.num_classes));
  if (vmf_form) {
    std::printf("%5s %6s %10s %14s %16s\n", "class", "rows", "R_bar", "kappa", "ln C_d(kappa)");
    for (int64_t k = 0; k < a.num_classes; ++k)
      if (fit.count[k] > 0)
        std::printf("%5lld %6lld %10.6f %14.6f %16.6f\n", static_cast<long long>(k),
                    static_cast<long long>(fit.count[k]), fit.mean_length[k], fit.kappa[k], fit.log_c[k]);
      else
        std::printf("%5lld %6d %10s %14s %16s\n", static_cast<long long>(k), 0, "-", "-", "-");
  }
  std::vector<int64_t> order(s.p_clean.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) {
    const bool ni = std::isnan(s.p_clean[i]), nj = std::isnan(s.p_clean[j]);
    return (ni || nj) ? (ni && !nj) : s.p_clean[i] < s.p_clean[j];
  });
  std::printf("%5s %6s %6s %12s %5s%s\n", "rank", "index", "label",
              knn         ? "knn score"
              : log_scale ? "ln P_clean"
                          : "P_clean",
              "kept", flags.empty() ? "" : "  noisy");
  for (size_t t = 0; t < order.size(); ++t) {
    const int64_t i = order[t];
    std::printf("%5zu %6lld %6d %12.6f %5s", t + 1, static_cast<long long>(i), y[i], s.p_clean[i],
                s.keep[i] ? "yes" : "no");
    if (!flags.empty()) std::printf("  %s", flags[i] ? "yes" : "no");
    std::printf("%s\n", static_cast<int64_t>(t) + 1 == s.r ? "   <- q (largest candidate)" : "");
  }
  const char* why = knn                 ? "kNN: removed when the score is below alpha"
                    : !s.selected       ? "r = 0: nothing removed"
                    : s.fallback        ? "nobody above the window mean: the r candidates were removed"
                    : a.method == "trm" ? "TRM: the r lowest removed"
                    : s.window_appended ? "mean of the window = q"
                                        : "q not usable (NaN or 1.0), window empty: the r candidates removed";
  std::printf("threshold %.6f (%s); kept %lld of %zu\n", s.threshold, why,
              static_cast<long long>(s.stats.kept), y.size());
  if (!flags.empty())
    std::printf("precision (clean share of kept) %.3f, recall (share of noisy removed) %.3f\n",
                s.stats.precision, s.stats.recall);
}

}  // namespace

void register_select(CLI::App& app) {
  static SelectArgs args;
  auto* cmd = app.add_subcommand("select",
                                 "One selection step (PRISM, TRM or kNN) on saved embeddings (empty window)");
  cmd->add_option("--memory-embeddings", args.memory_embeddings, "Memory bank rows, float32 .npy [K, D]")
      ->required();
  cmd->add_option("--memory-labels", args.memory_labels, "Memory bank labels, int32/int64 .npy [K]")
      ->required();
  cmd->add_option("--embeddings", args.embeddings, "Batch embeddings, float32 .npy [n, D]")->required();
  cmd->add_option("--labels", args.labels, "Batch labels, int32/int64 .npy [n]")->required();
  cmd->add_option("--num-classes", args.num_classes, "Number of classes C (labels lie in [0, C))")
      ->required()
      ->check(positive_number());
  cmd->add_option("--noise-rate", args.noise_rate,
                  "Noise rate R in [0, 1]: r = floor(R·n) candidates (prism, trm; not used by knn)");
  cmd->add_option(
         "--form", args.form,
         "Clean probability: center (class centers), full (every memory row), vmf (a von Mises-Fisher "
         "density per class) or vmf_log (vmf ranked by ln P_clean)")
      ->capture_default_str();
  cmd->add_option("--method", args.method,
                  "prism (sTRM window), trm (plain top-R) or knn (nearest memory rows)")
      ->capture_default_str();
  cmd->add_option("--knn-k", args.knn_k, "knn: nearest memory rows per sample")->capture_default_str();
  cmd->add_option("--knn-alpha", args.knn_alpha, "knn: removed when the class share ratio is below alpha")
      ->capture_default_str();
  cmd->add_option("--flags", args.flags,
                  "Known noise flags of the batch (.npy, 1 = noisy) for precision/recall");
  cmd->add_flag("--no-normalize", args.no_normalize,
                "Use the embeddings as given (default: L2-normalise rows)");
  cmd->add_flag("--json", args.json, "Print one JSON object on stdout");
  add_runtime_options(cmd, args.rt);
  cmd->callback([] { run_select(args); });
}

}  // namespace prism::cli
