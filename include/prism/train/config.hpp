// The run configuration: one typed struct, read from YAML (nested maps or dotted keys) and `--set KEY=VALUE`
// overrides, written back by to_yaml() (round-trips). Key names follow the official PRISM code
// (ret_benchmark/config/defaults.py) where it has one, ours otherwise; defaults are the official CARS-98N
// setting (DESIGN §4.10) where one exists. Unknown keys and bad values are errors naming the key (and file:line
// for YAML). Reference code. The full key list with meanings: config_keys() / docs/config.md.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace prism {

struct Config {
  std::string name = "default";  // NAME: run name (official)
  int64_t seed = 0;              // SEED: every Philox stream derives from it

  struct Model {
    std::string name = "fmnist-cnn";       // MODEL.NAME: fmnist-cnn | mlp | resnet18 | resnet34 | resnet50
    int64_t head_dim = 512;                // MODEL.HEAD.DIM (official): embedding size
    std::vector<int64_t> mlp_hidden{512};  // MODEL.MLP.HIDDEN: hidden layer widths of the mlp embedder
    bool pretrain = false;                 // MODEL.PRETRAIN (official): import MODEL.PRETRIANED_PATH
    std::string pretrained_path{};         // MODEL.PRETRIANED_PATH (official spelling): safetensors weights
    bool freeze_bn_stats = false;  // MODEL.FREEZE_BN_STATS: backbone BN uses and keeps its running statistics
    bool freeze_bn_affine = false;  // MODEL.FREEZE_BN_AFFINE: backbone BN weight/bias are not trained
    bool operator==(const Model&) const = default;
  } model;

  struct Losses {
    std::string name = "contrastive";  // LOSSES.NAME (official): a row of dml::losses() (or a synonym)
    double margin = 0.5;               // LOSSES.MARGIN: λ of the contrastive loss
    bool operator==(const Losses&) const = default;
  } losses;

  struct Solver {
    std::string optimizer_name = "Adam";  // SOLVER.OPTIMIZER_NAME (official): Adam | SGD
    double base_lr = 3e-5;                // SOLVER.BASE_LR (official)
    double weight_decay = 5e-4;           // SOLVER.WEIGHT_DECAY (official), added to the gradient
    double momentum = 0.9;                // SOLVER.MOMENTUM (SGD only)
    double head_lr_mult = 1.0;            // SOLVER.HEAD_LR_MULT: the head's (fc.*) lr = BASE_LR × this
    int64_t max_iters = 4000;             // SOLVER.MAX_ITERS (official)
    std::string lr_schedular = "cos";     // SOLVER.LR_SCHEDULAR (official spelling): cos | constant
    int64_t warmup_iters = 0;       // SOLVER.WARMUP_ITERS: linear warm-up (nn::CosineSchedule), 0 = none
    int64_t checkpoint_period = 0;  // SOLVER.CHECKPOINT_PERIOD (official): also checkpoint every N (0 = end)
    bool operator==(const Solver&) const = default;
  } solver;

  struct Xbm {
    bool enable = true;   // XBM.ENABLE (official): false only for methods without memory (contrastive)
    int64_t size = 9500;  // XBM.SIZE (official): ring buffer capacity K
    int64_t start_iteration = 0;  // XBM.START_ITERATION (official): memory loss and enqueueing start here
    double weight = 1.0;          // XBM.WEIGHT (official): w, weight of the memory loss
    bool operator==(const Xbm&) const = default;
  } xbm;

  struct Noise {
    double noise_rate = 0.5;                   // NOISE.NOISE_RATE (official): R, the share selection removes
    int64_t window_size = 30;                  // NOISE.WINDOW_SIZE (official): τ of sTRM
    int64_t warm_up = 0;                       // NOISE.WARM_UP (official): iterations before selection starts
    std::string method = "prism";              // NOISE.METHOD: a row of dml::methods()
    std::string clean_probability = "center";  // NOISE.CLEAN_PROBABILITY: a row of dml::clean_forms()
    int64_t knn_k = 10;                        // NOISE.KNN_K: neighbours of the kNN rule
    double knn_alpha = 0.5;                    // NOISE.KNN_ALPHA: the kNN rule removes score < α
    std::string type = "none";            // NOISE.TYPE: none | symmetric | small-cluster (generated noise)
    std::optional<double> inject_rate{};  // NOISE.INJECT_RATE: rate of generated noise (null = NOISE_RATE)
    int64_t cluster_size = 2;             // NOISE.CLUSTER_SIZE: mean images per cluster (small-cluster)
    bool operator==(const Noise&) const = default;
  } noise;

  struct Data {
    std::string dataset = "fashion-mnist";  // DATA.DATASET: fashion-mnist | list | cub | sop | npy
    std::string root{};                // DATA.ROOT: data dir (fashion-mnist, cub, sop) or image root (list)
    std::string split = "closed";      // DATA.SPLIT: closed | open
    std::string train_img_source{};    // DATA.TRAIN_IMG_SOURCE (official): train CSV list
    std::string test_img_source{};     // DATA.TEST_IMG_SOURCE (official): test CSV list
    std::string train_clean_source{};  // DATA.TRAIN_CLEAN_SOURCE: the `*_cleaned_train.csv` twin (flags)
    std::string train_features{};      // DATA.TRAIN_FEATURES: float32 [N, D] .npy (npy)
    std::string train_labels{};        // DATA.TRAIN_LABELS: int32/int64 [N] .npy (npy)
    std::string test_features{};       // DATA.TEST_FEATURES
    std::string test_labels{};         // DATA.TEST_LABELS
    int64_t train_batchsize = 64;      // DATA.TRAIN_BATCHSIZE (official): P × K
    int64_t test_batchsize = 128;      // DATA.TEST_BATCHSIZE (official)
    int64_t num_instances = 4;         // DATA.NUM_INSTANCES (official): K images per class in a batch
    int64_t train_per_class = 0;       // DATA.TRAIN_PER_CLASS: keep the first N per class (0 = all)
    int64_t train_subset = 0;          // DATA.TRAIN_SUBSET: then a seeded random N (0 = all)
    int64_t test_per_class = 0;        // DATA.TEST_PER_CLASS
    int64_t test_subset = 0;           // DATA.TEST_SUBSET
    std::string missing_images = "skip";  // DATA.MISSING_IMAGES: skip | error (list entries without an image)
    bool prefetch = true;                 // DATA.PREFETCH: load the next batch on a worker thread
    bool operator==(const Data&) const = default;
  } data;

  struct Input {
    std::string mode = "RGB";          // INPUT.MODE (official): RGB, or BGR (0–255, BN-Inception)
    std::vector<double> pixel_mean{};  // INPUT.PIXEL_MEAN (official): [] = dataset default (see below)
    std::vector<double> pixel_std{};   // INPUT.PIXEL_STD (official)
    double flip_prob = 0.5;            // INPUT.FLIP_PROB (official)
    std::vector<int64_t> origin_size{256, 256};       // INPUT.ORIGIN_SIZE (official): resize (shorter side)
    std::vector<int64_t> crop_size{224, 224};         // INPUT.CROP_SIZE (official)
    std::vector<double> crop_scale{0.2, 1.0};         // INPUT.CROP_SCALE (official)
    std::vector<double> crop_ratio{0.75, 4.0 / 3.0};  // INPUT.CROP_RATIO
    bool operator==(const Input&) const = default;
  } input;

  struct Validation {
    int64_t verbose =
        100;  // VALIDATION.VERBOSE (official): evaluate every N iterations (0 = only at the end)
    bool operator==(const Validation&) const = default;
  } validation;

  struct Run {
    std::string device = "cpu";  // RUN.DEVICE: cpu | cuda
    std::string mode = "fast";   // RUN.MODE: fast | exact
    int64_t threads = 0;         // RUN.THREADS: host threads (0 = all)
    int64_t log_every = 20;      // RUN.LOG_EVERY: metrics.jsonl line every N iterations
    bool operator==(const Run&) const = default;
  } run;

  bool operator==(const Config&) const = default;

  // Derived values.
  double effective_inject_rate() const { return noise.inject_rate.value_or(noise.noise_rate); }

  // Per-channel normalisation: INPUT.PIXEL_MEAN/STD, or the dataset's default when empty (Fashion-MNIST
  // 0.2860 / 0.3530 measured over its training set; ImageNet's for images; none, i.e. 0 / 1, for npy).
  std::vector<float> resolved_mean() const;
  std::vector<float> resolved_std() const;
};

// ---- the key table (one entry per key: what it is, its type, the allowed values) --------------------------
using ConfigValueRef = std::variant<int64_t*, double*, bool*, std::string*, std::vector<int64_t>*,
                                    std::vector<double>*, std::optional<double>*>;
struct ConfigKey {
  std::string name;  // dotted, e.g. "SOLVER.BASE_LR"
  ConfigValueRef ref;
  std::vector<std::string> choices;  // allowed strings (empty = any)
  std::string help;
};
std::vector<ConfigKey> config_keys(Config& c);

// ---- loading ----------------------------------------------------------------------------------------------
// Applies a YAML document (file or text) on top of `c`. Official keys this program has no use for
// (NUM_WORKERS, TB_SAVE_DIR, MODEL.BACKBONE.*, …) are accepted and reported in `warnings`; anything else
// unknown is an error.
void apply_yaml_file(Config& c, const std::string& path, std::vector<std::string>* warnings = nullptr);
void apply_yaml_text(Config& c, const std::string& text, const std::string& name,
                     std::vector<std::string>* warnings = nullptr);
// Applies one "KEY=VALUE" override (VALUE in YAML syntax: 1e-3, true, [0.2, 1], null; strings as they are).
void apply_override(Config& c, const std::string& assignment);
// Sets one key from text (the same parsing as an override).
void set_config_value(Config& c, const std::string& key, const std::string& value);

// Cross-key checks (ranges, P×K divisibility, what each dataset needs); throws naming the key.
void validate_config(const Config& c);

// Defaults + file (if not empty) + overrides. Not validated here: a run's config is validated once, where the
// run starts (prism::train, `prism check`, `prism bench train` call validate_config before anything else).
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {},
                   std::vector<std::string>* warnings = nullptr);

// The resolved config as YAML (nested maps, every key, comments with the meaning); parses back to an equal
// Config.
std::string config_to_yaml(const Config& c);
// The value of one key as YAML text ("3e-05", "[0.2, 1]", "\"cos\"").
std::string config_value_text(const Config& c, const std::string& key);

}  // namespace prism
