// prism select: one PRISM selection step on saved embeddings, for inspecting and teaching — the memory bank
// is filled with the given rows, the window starts empty, and the clean probability, threshold and keep mask
// of the batch are printed (a table sorted by probability, or JSON). Reference wiring of dml::MemoryBank +
// dml::Selector.
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

namespace prism::cli {

namespace {

struct SelectArgs {
  std::string memory_embeddings, memory_labels, embeddings, labels, form = "center", method = "prism", flags;
  int64_t num_classes = 0;
  double noise_rate = -1;
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
  if (!(a.noise_rate >= 0.0 && a.noise_rate <= 1.0))
    throw Error("select: --noise-rate must be in [0, 1], got " + std::to_string(a.noise_rate));
  dml::SelectorConfig cfg;
  cfg.method = dml::parse_select_method(a.method);
  if (cfg.method != dml::SelectMethod::prism && cfg.method != dml::SelectMethod::trm)
    throw Error("select: --method must be prism or trm, got '" + a.method + "'");
  cfg.form = dml::parse_clean_form(a.form);
  cfg.noise_rate = a.noise_rate;

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
    out["clean_probability"] = s.p_clean;
    out["threshold"] = s.threshold;
    out["keep"] = std::vector<bool>(s.keep.begin(), s.keep.end());
    out["removed"] = removed;
    out["candidates"] = s.candidates;
    out["r"] = s.r;
    out["window"] = std::vector<float>(selector.window().begin(), selector.window().end());
    out["method"] = a.method;
    out["form"] = a.form;
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
  std::printf(
      "%s selection, %s form: n = %zu, R = %g, r = floor(R·n) = %lld, memory %lld rows × %lld, C = %lld\n",
      a.method.c_str(), a.form.c_str(), y.size(), a.noise_rate, static_cast<long long>(s.r),
      static_cast<long long>(mem.rows), static_cast<long long>(mem.cols),
      static_cast<long long>(a.num_classes));
  std::vector<int64_t> order(s.p_clean.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) {
    const bool ni = std::isnan(s.p_clean[i]), nj = std::isnan(s.p_clean[j]);
    return (ni || nj) ? (ni && !nj) : s.p_clean[i] < s.p_clean[j];
  });
  std::printf("%5s %6s %6s %12s %5s%s\n", "rank", "index", "label", "P_clean", "kept",
              flags.empty() ? "" : "  noisy");
  for (size_t t = 0; t < order.size(); ++t) {
    const int64_t i = order[t];
    std::printf("%5zu %6lld %6d %12.6f %5s", t + 1, static_cast<long long>(i), y[i], s.p_clean[i],
                s.keep[i] ? "yes" : "no");
    if (!flags.empty()) std::printf("  %s", flags[i] ? "yes" : "no");
    std::printf("%s\n", static_cast<int64_t>(t) + 1 == s.r ? "   <- q (largest candidate)" : "");
  }
  const char* why = !s.selected         ? "r = 0: nothing removed"
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
  auto* cmd = app.add_subcommand("select", "One PRISM selection step on saved embeddings (empty window)");
  cmd->add_option("--memory-embeddings", args.memory_embeddings, "Memory bank rows, float32 .npy [K, D]")
      ->required();
  cmd->add_option("--memory-labels", args.memory_labels, "Memory bank labels, int32/int64 .npy [K]")
      ->required();
  cmd->add_option("--embeddings", args.embeddings, "Batch embeddings, float32 .npy [n, D]")->required();
  cmd->add_option("--labels", args.labels, "Batch labels, int32/int64 .npy [n]")->required();
  cmd->add_option("--num-classes", args.num_classes, "Number of classes C (labels lie in [0, C))")
      ->required()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--noise-rate", args.noise_rate, "Noise rate R in [0, 1]: r = floor(R·n) candidates")
      ->required();
  cmd->add_option("--form", args.form, "Clean probability: center (class centers) or full (every memory row)")
      ->capture_default_str();
  cmd->add_option("--method", args.method, "prism (sTRM window) or trm (plain top-R)")->capture_default_str();
  cmd->add_option("--flags", args.flags,
                  "Known noise flags of the batch (.npy, 1 = noisy) for precision/recall");
  cmd->add_flag("--no-normalize", args.no_normalize,
                "Use the embeddings as given (default: L2-normalise rows)");
  cmd->add_flag("--json", args.json, "Print one JSON object on stdout");
  add_runtime_options(cmd, args.rt);
  cmd->callback([] { run_select(args); });
}

}  // namespace prism::cli
