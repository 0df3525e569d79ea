// prism noise: writes a noisy copy of a training set's labels — symmetric or small-cluster (DESIGN §4.8) — from
// a PRISM CSV list (noisy list + optional cleaned twin + flags), from Fashion-MNIST IDX labels or from .npy
// labels (noisy labels + flags as .npy). Reference wiring of dml::symmetric_noise / dml::small_cluster_noise.
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/dml_inputs.hpp"
#include "cli/noise_inputs.hpp"
#include "prism/core/io.hpp"
#include "prism/data/list.hpp"
#include "prism/data/npy.hpp"
#include "prism/dml/noise.hpp"

namespace prism::cli {

namespace {

struct NoiseArgs {
  std::string list, idx_labels, idx_images, labels_npy, type, out, cleaned, flags, features, root;
  double rate = -1;
  uint64_t seed = 0;
  int64_t cluster_size = 2;
  bool json = false;
};

// Whether two paths name the same file (also through "./x" or "dir/../x"; the files need not exist yet).
bool same_path(const std::string& a, const std::string& b) {
  std::error_code ea, eb;
  const auto ca = std::filesystem::weakly_canonical(a, ea), cb = std::filesystem::weakly_canonical(b, eb);
  if (ea || eb)
    return std::filesystem::path(a).lexically_normal() == std::filesystem::path(b).lexically_normal();
  return ca == cb;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void run_noise(const NoiseArgs& a) {
  const int sources = !a.list.empty() + !a.idx_labels.empty() + !a.labels_npy.empty();
  if (sources != 1) throw Error("noise: give exactly one input: --list, --idx-labels or --labels");
  if (a.type != "symmetric" && a.type != "small-cluster")
    throw Error("noise: --type must be symmetric or small-cluster, got '" + a.type + "'");
  if (!(a.rate >= 0.0 && a.rate <= 1.0))
    throw Error("noise: --rate must be in [0, 1], got " + std::to_string(a.rate));
  const bool csv = !a.list.empty();
  if (csv && !ends_with(a.out, ".csv"))
    throw Error("noise: with --list, --out must be a .csv list, got '" + a.out + "'");
  if (!csv && !ends_with(a.out, ".npy"))
    throw Error("noise: with --idx-labels / --labels, --out must be a .npy file, got '" + a.out + "'");
  if (!csv && !a.cleaned.empty())
    throw Error("noise: --cleaned writes a CSV list and needs --list; use --flags for .npy labels");
  if (!a.idx_images.empty() && a.idx_labels.empty())
    throw Error("noise: --idx-images goes with --idx-labels");
  // Two outputs on one path would silently keep only the last one written.
  const std::vector<std::pair<const char*, const std::string*>> outs = {
      {"--out", &a.out}, {"--cleaned", &a.cleaned}, {"--flags", &a.flags}};
  for (size_t i = 0; i < outs.size(); ++i)
    for (size_t j = i + 1; j < outs.size(); ++j)
      if (!outs[i].second->empty() && !outs[j].second->empty() && same_path(*outs[i].second, *outs[j].second))
        throw Error(std::string("noise: ") + outs[i].first + " and " + outs[j].first +
                    " name the same file '" + *outs[j].second + "'");
  // Inputs too: writing over the list being read would lose it if anything later failed.
  for (const auto& [flag, path] : outs)
    for (const std::string* in : {&a.list, &a.idx_labels, &a.labels_npy})
      if (!path->empty() && !in->empty() && same_path(*path, *in))
        throw Error(std::string("noise: ") + flag + " '" + *path + "' is also an input");

  ImageList list;
  std::vector<int32_t> labels;
  if (csv) {
    list = read_image_list(a.list);
    labels = list.labels;
  } else if (!a.idx_labels.empty()) {
    labels = read_idx_labels(a.idx_labels);
  } else {
    labels = load_labels(a.labels_npy, -1, "");
  }
  const int64_t n = static_cast<int64_t>(labels.size());

  dml::NoiseResult r;
  if (a.type == "symmetric") {
    r = dml::symmetric_noise(labels, a.rate, a.seed);
  } else {
    Embeddings feat;
    std::string feat_name;
    if (!a.features.empty()) {
      feat = load_embeddings(a.features, "features");
      feat_name = a.features;
    } else if (!a.idx_images.empty()) {
      feat = read_idx_pixels(a.idx_images);
      feat_name = a.idx_images;
    } else if (csv) {
      feat = list_pixel_features(list, a.root);
      feat_name = "the list's images";
    } else {
      throw Error("noise: small-cluster noise needs features: --features F.npy" +
                  std::string(a.idx_labels.empty() ? "" : " or --idx-images IMAGES.gz"));
    }
    if (feat.rows != n)
      throw Error("noise: " + feat_name + " has " + std::to_string(feat.rows) + " rows for " +
                  std::to_string(n) + " samples");
    dml::SmallClusterOptions opt;
    opt.rate = a.rate;
    opt.seed = a.seed;
    opt.cluster_size = a.cluster_size;
    r = dml::small_cluster_noise(labels, feat.values.data(), feat.cols, opt);
  }

  // All outputs are written as one step (temp files, then renames), so a failing --flags or --cleaned leaves
  // no half set of outputs behind.
  std::vector<std::pair<std::string, std::string>> outputs;
  if (csv) {
    ImageList noisy{list.paths, r.labels, {}}, clean;
    for (int64_t i = 0; i < n; ++i)
      if (!r.noisy[i]) {
        clean.paths.push_back(list.paths[i]);
        clean.labels.push_back(r.labels[i]);
      }
    outputs.emplace_back(a.out, image_list_text(noisy));
    if (!a.cleaned.empty()) outputs.emplace_back(a.cleaned, image_list_text(clean));
  } else {
    std::vector<int64_t> out(r.labels.begin(), r.labels.end());
    outputs.emplace_back(a.out, npy_bytes(NpyType::i64, {n}, out.data()));
  }
  if (!a.flags.empty()) outputs.emplace_back(a.flags, npy_bytes(NpyType::u8, {n}, r.noisy.data()));
  write_files_atomic(outputs);

  std::vector<int32_t> before = labels;
  std::sort(before.begin(), before.end());
  const int64_t classes_before = std::unique(before.begin(), before.end()) - before.begin();
  nlohmann::json j = {{"type", a.type},
                      {"rate", a.rate},
                      {"achieved_rate", r.rate},
                      {"num_samples", n},
                      {"num_noisy", r.num_noisy},
                      {"num_classes_before", classes_before},
                      {"num_classes", r.num_classes},
                      {"seed", a.seed},
                      {"out", a.out}};
  if (!a.cleaned.empty()) j["cleaned"] = a.cleaned;
  if (!a.flags.empty()) j["flags"] = a.flags;
  if (a.type == "small-cluster") {
    j["removed_classes"] = r.removed_classes;
    j["num_clusters"] = r.num_clusters;
    j["cluster_size"] = a.cluster_size;
  }
  if (a.json) {
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf(
      "%s noise, rate %g, seed %llu: %lld of %lld labels changed (achieved rate %.4f), %lld → %lld classes\n",
      a.type.c_str(), a.rate, static_cast<unsigned long long>(a.seed), static_cast<long long>(r.num_noisy),
      static_cast<long long>(n), r.rate, static_cast<long long>(classes_before),
      static_cast<long long>(r.num_classes));
  if (a.type == "small-cluster")
    std::printf("%zu classes broken into %lld clusters (about %lld images each) and relabelled\n",
                r.removed_classes.size(), static_cast<long long>(r.num_clusters),
                static_cast<long long>(a.cluster_size));
  std::printf("wrote %s%s%s%s%s\n", a.out.c_str(), a.cleaned.empty() ? "" : ", ", a.cleaned.c_str(),
              a.flags.empty() ? "" : ", ", a.flags.c_str());
}

}  // namespace

void register_noise(CLI::App& app) {
  static NoiseArgs args;
  auto* cmd = app.add_subcommand(
      "noise", "Write a noisy copy of a training set's labels (symmetric or small-cluster)");
  cmd->add_option("--list", args.list, "Input PRISM list (path,label per line)");
  cmd->add_option("--idx-labels", args.idx_labels, "Input IDX labels (e.g. train-labels-idx1-ubyte.gz)");
  cmd->add_option("--labels", args.labels_npy, "Input labels as int32/int64 .npy");
  cmd->add_option("--type", args.type, "symmetric or small-cluster")->required();
  cmd->add_option(
         "--rate", args.rate,
         "Noise rate R: share of samples flipped (symmetric) or of classes broken up (small-cluster)")
      ->required();
  // nonnegative_number(): CLI11 would read "-1" into a uint64_t as 2^64 - 1.
  cmd->add_option("--seed", args.seed, "Seed of the Philox noise stream (same seed, same files)")
      ->capture_default_str()
      ->check(nonnegative_number());
  cmd->add_option("--out", args.out, "Noisy output: a .csv list (with --list) or a .npy of int64 labels")
      ->required();
  cmd->add_option("--cleaned", args.cleaned,
                  "Also write the cleaned twin list: the samples whose label is right");
  cmd->add_option("--flags", args.flags, "Also write the noise flag of every sample (uint8 .npy, 1 = noisy)");
  cmd->add_option(
      "--features", args.features,
      "small-cluster: float32 .npy [N, D] to cluster on (default: pixels of --idx-images or the list's "
      "images, 16×16 RGB)");
  cmd->add_option("--idx-images", args.idx_images,
                  "small-cluster with --idx-labels: IDX images for pixel features");
  cmd->add_option("--root", args.root, "Image root of relative list paths (pixel features)");
  cmd->add_option("--cluster-size", args.cluster_size, "small-cluster: average images per cluster")
      ->capture_default_str()
      ->check(positive_number());
  cmd->add_flag("--json", args.json, "Print one JSON object on stdout");
  cmd->callback([] { run_noise(args); });
}

}  // namespace prism::cli
