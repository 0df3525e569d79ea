// prism embed: the backbone features (before the head) of a config's train and test sets, with the test
// transform for both, written as .npy for the `npy` dataset — the cheap CPU route of the paper's setting: embed
// once with a pretrained backbone, then train the PRISM head on the features. Reference wiring of
// build_model (the model exactly as `prism train` builds it, weights imported the same way) and embed_dataset.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/runtime_options.hpp"
#include "prism/data/npy.hpp"
#include "prism/train/config.hpp"
#include "prism/train/data_setup.hpp"
#include "prism/train/progress.hpp"
#include "prism/train/run.hpp"

namespace prism::cli {

namespace {

struct EmbedArgs {
  std::string config, weights, out;
  std::vector<std::string> overrides;
  RuntimeOptions rt;
  bool quiet = false;
};

// Features of `data` as float32 [N, F] and its labels in the dataset's original numbering.
void embed_split(nn::Module& model, const Config& c, DeviceType device, const Dataset& data,
                 const std::vector<int32_t>& classes, const std::string& name, const std::string& out_dir,
                 bool quiet) {
  Progress progress("embed " + name, data.size());
  const auto t0 = std::chrono::steady_clock::now();
  auto rate = [&](int64_t done) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f img/s", s > 0 ? static_cast<double>(done) / s : 0.0);
    return std::string(buf);
  };
  const Tensor features = embed_dataset(model, data, c.data.test_batchsize, static_cast<uint64_t>(c.seed),
                                        device, EmbedOutput::backbone_features, [&](int64_t done, int64_t) {
                                          if (!quiet) progress.update(done, rate(done));
                                        });
  if (!quiet) progress.finish(rate(data.size()));
  std::vector<int32_t> labels;
  labels.reserve(data.labels().size());
  for (int32_t compact : data.labels()) labels.push_back(classes.at(static_cast<size_t>(compact)));
  write_npy_f32(out_dir + "/" + name + "_features.npy", features.shape(), features.to_vector());
  write_npy_i32(out_dir + "/" + name + "_labels.npy", labels);
  std::printf("%s: %lld x %lld features -> %s/%s_features.npy, labels -> %s_labels.npy (%s)\n", name.c_str(),
              static_cast<long long>(features.size(0)), static_cast<long long>(features.size(1)),
              out_dir.c_str(), name.c_str(), name.c_str(), rate(data.size()).c_str());
}

void run_embed(const EmbedArgs& a) {
  std::vector<std::string> overrides = a.overrides;
  if (!a.weights.empty()) {
    overrides.push_back("MODEL.PRETRAIN=true");
    overrides.push_back("MODEL.PRETRIANED_PATH=" + a.weights);
  }
  // The labels are exported as the lists give them; generated noise belongs to the training of the head,
  // whose config (DATA.DATASET npy) can ask for it again.
  overrides.push_back("NOISE.TYPE=none");
  if (!a.rt.mode.empty()) overrides.push_back("RUN.MODE=" + a.rt.mode);
  std::vector<std::string> warnings;
  Config c = load_config(a.config, overrides, &warnings);
  for (const std::string& w : warnings) std::fprintf(stderr, "prism: warning: %s\n", w.c_str());
  validate_config(c);
  RuntimeOptions rt = a.rt;
  if (rt.device.empty()) rt.device = c.run.device;
  if (rt.mode.empty()) rt.mode = c.run.mode;
  if (rt.threads < 0) rt.threads = static_cast<int>(c.run.threads);
  const DeviceType device = apply_runtime_options(rt);

  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  if (ec) throw Error("--out " + a.out + ": cannot create the directory (" + ec.message() + ")");
  const DataSetup data = open_datasets(c);
  // The model as `prism train` builds it, weights imported; no sampler, so any training batch shape embeds.
  const std::shared_ptr<nn::Module> model = build_model(c, *data.train, device);
  embed_split(*model, c, device, *data.train, data.train_classes, "train", a.out, a.quiet);
  embed_split(*model, c, device, *data.test, data.test_classes, "test", a.out, a.quiet);
}

}  // namespace

void register_embed(CLI::App& app) {
  static EmbedArgs a;
  auto* cmd = app.add_subcommand(
      "embed",
      "Backbone features (before the head) of the train and test sets as .npy, for DATA.DATASET npy");
  cmd->add_option("--config", a.config, "YAML config (the data, MODEL.NAME, INPUT.* test transform)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--weights", a.weights,
                  "Backbone weights, safetensors with torchvision/timm names (sets MODEL.PRETRAIN and "
                  "MODEL.PRETRIANED_PATH)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", a.out,
                  "Directory for train_features.npy, train_labels.npy, test_features.npy, test_labels.npy")
      ->required();
  cmd->add_option("--set", a.overrides, "Override a config key: KEY=VALUE (repeatable)");
  add_runtime_options(cmd, a.rt);
  cmd->add_flag("--quiet", a.quiet, "No progress display");
  cmd->callback([] { run_embed(a); });
}

}  // namespace prism::cli
