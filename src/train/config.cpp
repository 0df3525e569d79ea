// Config: the key table, YAML / override parsing, validation and YAML output (reference code; see
// config.hpp).
#include "prism/train/config.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>

#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"
#include "prism/dml/clean_probability.hpp"
#include "prism/dml/loss.hpp"
#include "prism/dml/methods.hpp"
#include "prism/nn/models.hpp"

namespace prism {

// ---- the key table ----------------------------------------------------------------------------------------

std::vector<ConfigKey> config_keys(Config& c) {
  // Grouped by section in output order: config_to_yaml nests consecutive keys that share a prefix.
  return {
      {"NAME", &c.name, {}, "run name"},
      {"SEED", &c.seed, {}, "seed of every Philox stream (init, sampler, noise, augmentation, splits)"},
      {"MODEL.NAME", &c.model.name, nn::model_names(), "embedder"},
      {"MODEL.HEAD.DIM", &c.model.head_dim, {}, "embedding size (linear head + L2 norm)"},
      {"MODEL.MLP.HIDDEN", &c.model.mlp_hidden, {}, "hidden layer widths of the mlp embedder"},
      {"MODEL.PRETRAIN", &c.model.pretrain, {}, "import the backbone weights of MODEL.PRETRIANED_PATH"},
      {"MODEL.PRETRIANED_PATH",
       &c.model.pretrained_path,
       {},
       "backbone weights, safetensors with torchvision/timm names (official spelling)"},
      {"MODEL.FREEZE_BN_STATS",
       &c.model.freeze_bn_stats,
       {},
       "backbone batch norm normalises with its running statistics and keeps them"},
      {"MODEL.FREEZE_BN_AFFINE",
       &c.model.freeze_bn_affine,
       {},
       "backbone batch-norm weight and bias not trained"},
      {"LOSSES.NAME", &c.losses.name, dml::loss_config_values(),
       "loss of the batch and memory terms (official names are synonyms: contrastive_loss…, ms_loss)"},
      {"LOSSES.MARGIN", &c.losses.margin, {}, "contrastive margin on cosine similarity"},
      {"SOLVER.OPTIMIZER_NAME", &c.solver.optimizer_name, {"Adam", "SGD"}, "optimizer"},
      {"SOLVER.BASE_LR", &c.solver.base_lr, {}, "learning rate"},
      {"SOLVER.WEIGHT_DECAY", &c.solver.weight_decay, {}, "L2 weight decay, added to the gradient"},
      {"SOLVER.MOMENTUM", &c.solver.momentum, {}, "SGD momentum"},
      {"SOLVER.HEAD_LR_MULT", &c.solver.head_lr_mult, {}, "lr multiplier of the head (fc.*)"},
      {"SOLVER.MAX_ITERS", &c.solver.max_iters, {}, "training iterations"},
      {"SOLVER.LR_SCHEDULAR", &c.solver.lr_schedular, {"cos", "constant"}, "lr schedule (official spelling)"},
      {"SOLVER.WARMUP_ITERS", &c.solver.warmup_iters, {}, "linear lr warm-up iterations (0 = none)"},
      {"SOLVER.CHECKPOINT_PERIOD",
       &c.solver.checkpoint_period,
       {},
       "checkpoint every N iterations (0 = at the end)"},
      {"XBM.ENABLE", &c.xbm.enable, {}, "cross-batch memory on"},
      {"XBM.SIZE", &c.xbm.size, {}, "memory capacity (rows)"},
      {"XBM.START_ITERATION", &c.xbm.start_iteration, {}, "iteration where the memory loss starts"},
      {"XBM.WEIGHT", &c.xbm.weight, {}, "weight w of the memory loss"},
      {"NOISE.NOISE_RATE", &c.noise.noise_rate, {}, "R: share of each batch that selection removes"},
      {"NOISE.WINDOW_SIZE", &c.noise.window_size, {}, "tau: sTRM threshold window"},
      {"NOISE.WARM_UP", &c.noise.warm_up, {}, "iterations before selection starts"},
      {"NOISE.METHOD", &c.noise.method, dml::method_names(),
       "training method (memory, selection, enqueueing)"},
      {"NOISE.CLEAN_PROBABILITY", &c.noise.clean_probability, dml::clean_form_names(),
       "form of the clean probability that trm / prism rank"},
      {"NOISE.KNN_K", &c.noise.knn_k, {}, "knn: nearest memory rows per sample"},
      {"NOISE.KNN_ALPHA",
       &c.noise.knn_alpha,
       {},
       "knn: removed when its class share / the largest share < alpha"},
      {"NOISE.TYPE",
       &c.noise.type,
       {"none", "symmetric", "small-cluster"},
       "label noise generated on the fly"},
      {"NOISE.INJECT_RATE", &c.noise.inject_rate, {}, "rate of generated noise (null = NOISE.NOISE_RATE)"},
      {"NOISE.CLUSTER_SIZE", &c.noise.cluster_size, {}, "mean images per cluster of small-cluster noise"},
      {"DATA.DATASET", &c.data.dataset, {"fashion-mnist", "list", "cub", "sop", "npy"}, "dataset kind"},
      {"DATA.ROOT", &c.data.root, {}, "dataset directory / image root ('' = default)"},
      {"DATA.SPLIT", &c.data.split, {"closed", "open"}, "closed: same classes; open: disjoint class halves"},
      {"DATA.TRAIN_IMG_SOURCE", &c.data.train_img_source, {}, "train list (path,label CSV)"},
      {"DATA.TEST_IMG_SOURCE", &c.data.test_img_source, {}, "test list"},
      {"DATA.TRAIN_CLEAN_SOURCE",
       &c.data.train_clean_source,
       {},
       "cleaned twin of a noisy train list (noise flags)"},
      {"DATA.TRAIN_FEATURES", &c.data.train_features, {}, "train features, float32 [N, D] .npy"},
      {"DATA.TRAIN_LABELS", &c.data.train_labels, {}, "train labels, int32/int64 [N] .npy"},
      {"DATA.TEST_FEATURES", &c.data.test_features, {}, "test features .npy"},
      {"DATA.TEST_LABELS", &c.data.test_labels, {}, "test labels .npy"},
      {"DATA.TRAIN_BATCHSIZE", &c.data.train_batchsize, {}, "train batch = P classes x K instances"},
      {"DATA.TEST_BATCHSIZE", &c.data.test_batchsize, {}, "embedding batch at evaluation"},
      {"DATA.NUM_INSTANCES", &c.data.num_instances, {}, "K: images per class in a train batch"},
      {"DATA.TRAIN_PER_CLASS",
       &c.data.train_per_class,
       {},
       "keep the first N train images per class (0 = all)"},
      {"DATA.TRAIN_SUBSET", &c.data.train_subset, {}, "then a seeded random N train images (0 = all)"},
      {"DATA.TEST_PER_CLASS", &c.data.test_per_class, {}, "keep the first N test images per class (0 = all)"},
      {"DATA.TEST_SUBSET", &c.data.test_subset, {}, "then a seeded random N test images (0 = all)"},
      {"DATA.MISSING_IMAGES",
       &c.data.missing_images,
       {"skip", "error"},
       "list entries without a readable image"},
      {"DATA.PREFETCH", &c.data.prefetch, {}, "load the next batch on a worker thread"},
      {"INPUT.MODE", &c.input.mode, {"RGB", "BGR"}, "channel order (BGR: 0-255 values, BN-Inception)"},
      {"INPUT.PIXEL_MEAN", &c.input.pixel_mean, {}, "per-channel mean ([] = dataset default)"},
      {"INPUT.PIXEL_STD", &c.input.pixel_std, {}, "per-channel std ([] = dataset default)"},
      {"INPUT.FLIP_PROB", &c.input.flip_prob, {}, "horizontal flip probability (train)"},
      {"INPUT.ORIGIN_SIZE", &c.input.origin_size, {}, "resize: shorter side (images)"},
      {"INPUT.CROP_SIZE", &c.input.crop_size, {}, "crop side (images)"},
      {"INPUT.CROP_SCALE", &c.input.crop_scale, {}, "random resized crop: area range"},
      {"INPUT.CROP_RATIO", &c.input.crop_ratio, {}, "random resized crop: aspect ratio range"},
      {"VALIDATION.VERBOSE", &c.validation.verbose, {}, "evaluate every N iterations (0 = at the end only)"},
      {"RUN.DEVICE", &c.run.device, {"cpu", "cuda"}, "backend"},
      {"RUN.MODE", &c.run.mode, {"fast", "exact"}, "numeric mode"},
      {"RUN.THREADS", &c.run.threads, {}, "host threads (0 = all)"},
      {"RUN.LOG_EVERY", &c.run.log_every, {}, "log metrics every N iterations"},
  };
}

namespace {

// Official keys (ret_benchmark/config/defaults.py) with no effect here: accepted so official configs load,
// and reported. An entry also covers every key below it.
const std::vector<std::pair<std::string, std::string>>& ignored_official_keys() {
  static const std::vector<std::pair<std::string, std::string>> keys = {
      {"MODEL.DEVICE", "use RUN.DEVICE / --device"},
      {"MODEL.BACKBONE", "the embedder is MODEL.NAME"},
      {"MODEL.WEIGHT", "use --resume"},
      {"MODEL.HEAD.NAME", "the head is always linear + L2 norm"},
      {"MODEL.HEAD.IN_CHANNELS", "derived from the embedder"},
      {"MODEL.HEAD.NUM_CLASSES", "not used by metric learning"},
      {"SAVE", "the run directory is --out"},
      {"SAVE_DIR", "the run directory is --out"},
      {"TB_SAVE_DIR", "metrics go to metrics.jsonl"},
      {"LOGGER", "progress goes to stderr, metrics to metrics.jsonl"},
      {"LOSSES.NAME_XBM_LOSS", "the memory loss is LOSSES.NAME's loss"},
      {"LOSSES.NOXBM_LOSS_NAME", "the batch loss is LOSSES.NAME's loss"},
      {"LOSSES.MULTI_SIMILARITY_LOSS",
       "multi_similarity has the paper's fixed alpha 2, beta 50, lambda 0.5, epsilon 0.1"},
      {"LOSSES.CENTER_LR", "softtriple's centers train with SOLVER.BASE_LR"},
      {"DATA.QUERY_IMG_SOURCE", "queries are the test set"},
      {"DATA.PKUVID_IMG_SOURCE", "not supported"},
      {"DATA.NUM_WORKERS", "decoding runs on one prefetch thread + oneTBB"},
      {"DATA.SAMPLE", "the sampler is always P x K"},
      {"SOLVER.FINETURN_MODE_PATH", "use --resume"},
      {"SOLVER.BIAS_LR_FACTOR", "one lr for all parameters"},
      {"SOLVER.WEIGHT_DECAY_BIAS", "SOLVER.WEIGHT_DECAY applies to all parameters"},
      {"SOLVER.RNG_SEED", "use SEED / --seed"},
      {"VALIDATION.R", "every metric is reported"},
      {"VALIDATION.IS_VALIDATION", "set VALIDATION.VERBOSE: 0 to evaluate only at the end"},
      {"NOISE.CHECK_NOISE", "selection precision is logged whenever noise flags are known"},
  };
  return keys;
}

const std::string* ignored_reason(const std::string& key) {
  for (const auto& [k, why] : ignored_official_keys())
    if (key == k || (key.size() > k.size() && key.compare(0, k.size(), k) == 0 && key[k.size()] == '.'))
      return &why;
  return nullptr;
}

bool is_prefix_of_any(const std::vector<ConfigKey>& keys, const std::string& prefix) {
  const std::string p = prefix + ".";
  for (const auto& k : keys)
    if (k.name.compare(0, p.size(), p) == 0) return true;
  for (const auto& [k, why] : ignored_official_keys())
    if (k.compare(0, p.size(), p) == 0) return true;
  return false;
}

ConfigKey* find_key(std::vector<ConfigKey>& keys, const std::string& name) {
  for (auto& k : keys)
    if (k.name == name) return &k;
  return nullptr;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string unknown_key_message(const std::vector<ConfigKey>& keys, const std::string& name) {
  std::string best;
  size_t best_d = 4;
  for (const auto& k : keys) {
    const size_t d = edit_distance(name, k.name);
    if (d < best_d) {
      best_d = d;
      best = k.name;
    }
  }
  std::string msg = "unknown config key '" + name + "'";
  if (!best.empty()) msg += " (did you mean '" + best + "'?)";
  return msg;
}

// ---- scalar parsing ---------------------------------------------------------------------------------------

bool parse_int(const std::string& s, int64_t* v) {
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (b != e && *b == '+') ++b;
  auto [ptr, ec] = std::from_chars(b, e, *v);
  return ec == std::errc() && ptr == e && b != e;
}

bool parse_double(const std::string& s, double* v) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (*b == '+') ++b;
  auto [ptr, ec] = std::from_chars(b, e, *v);
  return ec == std::errc() && ptr == e && b != e && std::isfinite(*v);
}

bool parse_bool(std::string s, bool* v) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (s == "true" || s == "yes" || s == "on") {
    *v = true;
    return true;
  }
  if (s == "false" || s == "no" || s == "off") {
    *v = false;
    return true;
  }
  return false;
}

std::string node_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  return YAML::Dump(n);
}

// Assigns `node` to the key; `where` prefixes errors ("file:12: " or "--set ").
void assign(ConfigKey& key, const YAML::Node& node, const std::string& where) {
  const std::string at = where + key.name + ": ";
  auto scalar = [&](const YAML::Node& n, const char* what) -> std::string {
    if (!n.IsScalar()) throw Error(at + "expected " + what + ", got '" + node_text(n) + "'");
    return n.Scalar();
  };
  std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          const std::string s = scalar(node, "an integer");
          if (!parse_int(s, p)) throw Error(at + "expected an integer, got '" + s + "'");
        } else if constexpr (std::is_same_v<T, double>) {
          const std::string s = scalar(node, "a number");
          if (!parse_double(s, p)) throw Error(at + "expected a finite number, got '" + s + "'");
        } else if constexpr (std::is_same_v<T, bool>) {
          const std::string s = scalar(node, "true or false");
          if (!parse_bool(s, p)) throw Error(at + "expected true or false, got '" + s + "'");
        } else if constexpr (std::is_same_v<T, std::string>) {
          const std::string s = node.IsNull() ? std::string() : scalar(node, "a string");
          if (!key.choices.empty() &&
              std::find(key.choices.begin(), key.choices.end(), s) == key.choices.end()) {
            std::string allowed;
            for (const auto& c : key.choices) allowed += (allowed.empty() ? "" : ", ") + c;
            throw Error(at + "'" + s + "' is not one of: " + allowed);
          }
          *p = s;
        } else if constexpr (std::is_same_v<T, std::optional<double>>) {
          if (node.IsNull()) {
            p->reset();
          } else {
            const std::string s = scalar(node, "a number or null");
            double v = 0;
            if (!parse_double(s, &v)) throw Error(at + "expected a finite number or null, got '" + s + "'");
            *p = v;
          }
        } else {
          using E = typename T::value_type;
          T out;
          auto element = [&](const YAML::Node& n) {
            const std::string s = scalar(n, "a list of numbers");
            E v{};
            bool ok;
            if constexpr (std::is_same_v<E, int64_t>)
              ok = parse_int(s, &v);
            else
              ok = parse_double(s, &v);
            if (!ok)
              throw Error(at + "list element '" + s + "' is not " +
                          (std::is_same_v<E, int64_t> ? "an integer" : "a finite number"));
            out.push_back(v);
          };
          if (node.IsSequence()) {
            for (const auto& n : node) element(n);
          } else if (!node.IsNull()) {
            element(node);  // a single value is a one-element list
          }
          *p = std::move(out);
        }
      },
      key.ref);
}

void walk(std::vector<ConfigKey>& keys, const YAML::Node& map, const std::string& prefix,
          const std::string& name, std::set<std::string>& seen, std::vector<std::string>* warnings) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    // Copies: yaml-cpp's iterator returns its key/value pair by value, so references into it dangle.
    const YAML::Node key_node = it->first;
    const YAML::Node value = it->second;
    const std::string where = name + ":" + std::to_string(key_node.Mark().line + 1) + ": ";
    if (!key_node.IsScalar()) throw Error(where + "config keys must be plain names");
    const std::string full = prefix.empty() ? key_node.Scalar() : prefix + "." + key_node.Scalar();
    if (ConfigKey* key = find_key(keys, full)) {
      if (!seen.insert(full).second) throw Error(where + full + ": set twice");
      assign(*key, value, where);
    } else if (const std::string* why = ignored_reason(full)) {
      if (warnings)
        warnings->push_back(where + "official key " + full + " has no effect here (" + *why + ")");
    } else if (is_prefix_of_any(keys, full)) {
      // A section given a value ("SOLVER: 5") is not an unknown key: say what it must be.
      if (!value.IsMap()) {
        std::string example;
        for (const ConfigKey& k : keys)
          if (k.name.compare(0, full.size() + 1, full + ".") == 0) {
            example = k.name.substr(full.size() + 1);
            break;
          }
        throw Error(where + full + " is a section and must be a map of keys (such as " + full + "." +
                    example + "), got " + (value.IsSequence() ? "a list" : "'" + node_text(value) + "'"));
      }
      walk(keys, value, full, name, seen, warnings);
    } else {
      throw Error(where + unknown_key_message(keys, full));
    }
  }
}

// ---- output -----------------------------------------------------------------------------------------------

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

std::string value_text(const ConfigKey& key) {
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(*p);
        } else if constexpr (std::is_same_v<T, double>) {
          return double_text(*p);
        } else if constexpr (std::is_same_v<T, bool>) {
          return *p ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return quote(*p);
        } else if constexpr (std::is_same_v<T, std::optional<double>>) {
          return p->has_value() ? double_text(**p) : "null";
        } else {
          std::string out = "[";
          for (size_t i = 0; i < p->size(); ++i) {
            if (i) out += ", ";
            if constexpr (std::is_same_v<typename T::value_type, int64_t>)
              out += std::to_string((*p)[i]);
            else
              out += double_text((*p)[i]);
          }
          return out + "]";
        }
      },
      key.ref);
}

std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = s.find('.', start)) != std::string::npos; start = dot + 1)
    parts.push_back(s.substr(start, dot - start));
  parts.push_back(s.substr(start));
  return parts;
}

}  // namespace

// ---- public functions -------------------------------------------------------------------------------------

std::vector<float> Config::resolved_mean() const {
  if (!input.pixel_mean.empty()) return std::vector<float>(input.pixel_mean.begin(), input.pixel_mean.end());
  if (data.dataset == "fashion-mnist") return {0.2860f};
  if (data.dataset == "npy") return {0.0f};
  return {0.485f, 0.456f, 0.406f};
}

std::vector<float> Config::resolved_std() const {
  if (!input.pixel_std.empty()) return std::vector<float>(input.pixel_std.begin(), input.pixel_std.end());
  if (data.dataset == "fashion-mnist") return {0.3530f};
  if (data.dataset == "npy") return {1.0f};
  return {0.229f, 0.224f, 0.225f};
}

void apply_yaml_text(Config& c, const std::string& text, const std::string& name,
                     std::vector<std::string>* warnings) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's message for this is "bad file", which names neither the cause nor the limit.
    throw Error(name + ":" + std::to_string(e.mark.line + 1) + ": YAML nesting deeper than " +
                std::to_string(e.depth()) + " levels (a config is at most a few levels deep)");
  } catch (const YAML::Exception& e) {
    throw Error(name + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  if (root.IsNull()) return;  // an empty file changes nothing
  if (!root.IsMap())
    throw Error(name + ": a config file must be a map of keys (got a " +
                (root.IsSequence() ? "list" : "single value") + ")");
  auto keys = config_keys(c);
  std::set<std::string> seen;
  try {
    walk(keys, root, "", name, seen, warnings);
  } catch (const YAML::Exception& e) {
    throw Error(name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

void apply_yaml_file(Config& c, const std::string& path, std::vector<std::string>* warnings) {
  const std::string text = read_file(path);
  // A config file with no keys at all (empty, blank or comments only) is a truncated or wrong file far more
  // often than a request for every default, which would silently train something else.
  bool blank = true;
  for (size_t pos = 0; pos < text.size() && blank;) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const size_t first = text.find_first_not_of(" \t\r", pos);
    if (first < end && text[first] != '#') blank = false;
    pos = end + 1;
  }
  if (blank) throw Error(path + ": the config file is empty (it sets no keys)");
  apply_yaml_text(c, text, path, warnings);
}

void set_config_value(Config& c, const std::string& key_name, const std::string& value) {
  auto keys = config_keys(c);
  ConfigKey* key = find_key(keys, key_name);
  if (!key) {
    if (ignored_reason(key_name))
      throw Error("--set " + key_name + ": official key with no effect here (" + *ignored_reason(key_name) +
                  ")");
    throw Error("--set: " + unknown_key_message(keys, key_name));
  }
  if (std::holds_alternative<std::string*>(key->ref)) {
    // Strings are taken as typed, so paths with ':' or '#' need no quoting.
    assign(*key, YAML::Node(value), "--set ");
    return;
  }
  YAML::Node node;
  try {
    node = YAML::Load(value);
  } catch (const YAML::DeepRecursion& e) {
    throw Error("--set " + key_name + ": value nested deeper than " + std::to_string(e.depth()) + " levels");
  } catch (const YAML::Exception& e) {
    throw Error("--set " + key_name + ": cannot parse '" + value + "': " + e.msg);
  }
  if (value.empty()) throw Error("--set " + key_name + ": empty value");
  assign(*key, node, "--set ");
}

void apply_override(Config& c, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("--set: expected KEY=VALUE (e.g. SOLVER.BASE_LR=1e-3), got '" + assignment + "'");
  std::string key = assignment.substr(0, eq);
  while (!key.empty() && key.back() == ' ') key.pop_back();
  while (!key.empty() && key.front() == ' ') key.erase(key.begin());
  set_config_value(c, key, assignment.substr(eq + 1));
}

void validate_config(const Config& c) {
  auto need = [](bool ok, const std::string& key, const std::string& what) {
    if (!ok) throw Error("config: " + key + " " + what);
  };
  auto num = [](double v) { return double_text(v); };
  // Strings with a fixed set of values (the tables' names among them), for configs built in code too.
  Config copy = c;
  for (const ConfigKey& key : config_keys(copy)) {
    const auto* value = std::get_if<std::string*>(&key.ref);
    if (!value || key.choices.empty()) continue;
    if (std::find(key.choices.begin(), key.choices.end(), **value) != key.choices.end()) continue;
    std::string names;
    for (const std::string& ch : key.choices) names += (names.empty() ? "" : ", ") + ch;
    need(false, key.name, "must be one of " + names + ", got '" + **value + "'");
  }
  need(c.seed >= 0, "SEED", "must be >= 0, got " + std::to_string(c.seed));
  need(c.model.head_dim >= 1, "MODEL.HEAD.DIM", "must be >= 1, got " + std::to_string(c.model.head_dim));
  for (int64_t h : c.model.mlp_hidden) need(h >= 1, "MODEL.MLP.HIDDEN", "widths must be >= 1");
  need(!c.model.pretrain || !c.model.pretrained_path.empty(), "MODEL.PRETRIANED_PATH",
       "must name a safetensors file when MODEL.PRETRAIN is true");
  need(c.solver.head_lr_mult >= 0, "SOLVER.HEAD_LR_MULT", "must be >= 0, got " + num(c.solver.head_lr_mult));
  need(c.losses.margin > -1 && c.losses.margin < 1, "LOSSES.MARGIN",
       "must be in (-1, 1), got " + num(c.losses.margin));

  need(c.solver.base_lr > 0, "SOLVER.BASE_LR", "must be > 0, got " + num(c.solver.base_lr));
  need(c.solver.weight_decay >= 0, "SOLVER.WEIGHT_DECAY", "must be >= 0, got " + num(c.solver.weight_decay));
  need(c.solver.momentum >= 0 && c.solver.momentum < 1, "SOLVER.MOMENTUM", "must be in [0, 1)");
  need(c.solver.max_iters >= 1, "SOLVER.MAX_ITERS",
       "must be >= 1, got " + std::to_string(c.solver.max_iters));
  need(c.solver.warmup_iters >= 0 && c.solver.warmup_iters < c.solver.max_iters, "SOLVER.WARMUP_ITERS",
       "must be in [0, SOLVER.MAX_ITERS), got " + std::to_string(c.solver.warmup_iters));
  need(c.solver.checkpoint_period >= 0, "SOLVER.CHECKPOINT_PERIOD", "must be >= 0");

  need(c.xbm.size >= 1, "XBM.SIZE", "must be >= 1, got " + std::to_string(c.xbm.size));
  need(c.xbm.start_iteration >= 0, "XBM.START_ITERATION", "must be >= 0");
  need(c.xbm.weight >= 0, "XBM.WEIGHT", "must be >= 0, got " + num(c.xbm.weight));

  need(c.noise.noise_rate >= 0 && c.noise.noise_rate < 1, "NOISE.NOISE_RATE",
       "must be in [0, 1), got " + num(c.noise.noise_rate));
  need(c.noise.window_size >= 1, "NOISE.WINDOW_SIZE",
       "must be >= 1, got " + std::to_string(c.noise.window_size));
  need(c.noise.warm_up >= 0, "NOISE.WARM_UP", "must be >= 0");
  need(c.noise.knn_k >= 1, "NOISE.KNN_K", "must be >= 1, got " + std::to_string(c.noise.knn_k));
  need(c.noise.knn_alpha >= 0 && c.noise.knn_alpha <= 1, "NOISE.KNN_ALPHA",
       "must be in [0, 1], got " + num(c.noise.knn_alpha));
  need(c.effective_inject_rate() >= 0 && c.effective_inject_rate() < 1, "NOISE.INJECT_RATE",
       "must be in [0, 1), got " + num(c.effective_inject_rate()));
  need(c.noise.cluster_size >= 1, "NOISE.CLUSTER_SIZE", "must be >= 1");
  const std::string& m = c.noise.method;
  const dml::MethodSpec& method = dml::method_spec(m);
  need(c.xbm.enable || !method.uses_memory, "XBM.ENABLE",
       "is false, but NOISE.METHOD " + m + " needs the memory bank");
  need(c.data.train_clean_source.empty() || c.noise.type == "none", "NOISE.TYPE",
       "must be none when DATA.TRAIN_CLEAN_SOURCE gives the noise (got " + c.noise.type + ")");
  need(!method.needs_noise_flags || c.noise.type != "none" || !c.data.train_clean_source.empty(),
       "NOISE.METHOD", m + " needs known noise flags: set NOISE.TYPE or DATA.TRAIN_CLEAN_SOURCE");

  const auto& d = c.data;
  need(d.num_instances >= 1, "DATA.NUM_INSTANCES", "must be >= 1, got " + std::to_string(d.num_instances));
  need(d.train_batchsize >= 2 && d.train_batchsize % d.num_instances == 0, "DATA.TRAIN_BATCHSIZE",
       "must be a multiple of DATA.NUM_INSTANCES (P x K) and >= 2, got " + std::to_string(d.train_batchsize) +
           " with K = " + std::to_string(d.num_instances));
  need(d.test_batchsize >= 1, "DATA.TEST_BATCHSIZE", "must be >= 1");
  need(d.train_per_class >= 0 && d.train_subset >= 0 && d.test_per_class >= 0 && d.test_subset >= 0,
       "DATA.TRAIN_PER_CLASS/TRAIN_SUBSET/TEST_PER_CLASS/TEST_SUBSET", "must be >= 0");
  need(d.train_clean_source.empty() || d.dataset == "list", "DATA.TRAIN_CLEAN_SOURCE",
       "needs DATA.DATASET list, got " + d.dataset);
  if (d.dataset == "list") {
    need(!d.train_img_source.empty(), "DATA.TRAIN_IMG_SOURCE",
         "must name the train list for DATA.DATASET list");
    need(d.split == "open" || !d.test_img_source.empty(), "DATA.TEST_IMG_SOURCE",
         "must name the test list for a closed split (or set DATA.SPLIT: open to split the train list by "
         "classes)");
  } else if (d.dataset == "npy") {
    need(!d.train_features.empty() && !d.train_labels.empty(), "DATA.TRAIN_FEATURES",
         "and DATA.TRAIN_LABELS must name .npy files for DATA.DATASET npy");
    need(d.test_features.empty() == d.test_labels.empty(), "DATA.TEST_FEATURES",
         "and DATA.TEST_LABELS must be given together");
    need(d.split == "open" || !d.test_features.empty(), "DATA.TEST_FEATURES",
         "must be given for a closed split (or set DATA.SPLIT: open to split the train set by classes)");
  } else if (d.dataset == "cub" || d.dataset == "sop") {
    need(!d.root.empty(), "DATA.ROOT", "must name the " + d.dataset + " directory");
    need(d.split == "open", "DATA.SPLIT",
         "must be open for " + d.dataset + " (its protocol has disjoint classes)");
  }

  const auto& in = c.input;
  need(in.pixel_mean.empty() || in.pixel_mean.size() == 1 || in.pixel_mean.size() == 3, "INPUT.PIXEL_MEAN",
       "needs 1 or 3 values (or [] for the dataset default)");
  need(in.pixel_std.size() == in.pixel_mean.size(), "INPUT.PIXEL_STD",
       "needs as many values as INPUT.PIXEL_MEAN");
  for (double s : in.pixel_std) need(s > 0, "INPUT.PIXEL_STD", "values must be > 0, got " + num(s));
  if (d.dataset == "fashion-mnist")
    need(in.pixel_mean.size() <= 1, "INPUT.PIXEL_MEAN", "needs one value for Fashion-MNIST (grayscale)");
  need(in.flip_prob >= 0 && in.flip_prob <= 1, "INPUT.FLIP_PROB",
       "must be in [0, 1], got " + num(in.flip_prob));
  for (const auto& [key, v] :
       {std::pair<const char*, const std::vector<int64_t>*>{"INPUT.ORIGIN_SIZE", &in.origin_size},
        {"INPUT.CROP_SIZE", &in.crop_size}}) {
    need(v->size() == 1 || v->size() == 2, key, "needs 1 or 2 values");
    need(v->front() >= 1 && v->back() == v->front(), key,
         "must be one positive size (square), e.g. [256, 256]");
  }
  need(in.crop_scale.size() == 2 && in.crop_scale[0] > 0 && in.crop_scale[0] <= in.crop_scale[1] &&
           in.crop_scale[1] <= 1,
       "INPUT.CROP_SCALE", "must be [min, max] with 0 < min <= max <= 1");
  need(in.crop_ratio.size() == 2 && in.crop_ratio[0] > 0 && in.crop_ratio[0] <= in.crop_ratio[1],
       "INPUT.CROP_RATIO", "must be [min, max] with 0 < min <= max");

  need(c.validation.verbose >= 0, "VALIDATION.VERBOSE", "must be >= 0");
  need(c.run.threads >= 0, "RUN.THREADS", "must be >= 0 (0 = all), got " + std::to_string(c.run.threads));
  need(c.run.log_every >= 1, "RUN.LOG_EVERY", "must be >= 1");
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides,
                   std::vector<std::string>* warnings) {
  Config c;
  if (!path.empty()) apply_yaml_file(c, path, warnings);
  for (const auto& o : overrides) apply_override(c, o);
  return c;
}

std::string config_value_text(const Config& c, const std::string& key_name) {
  Config copy = c;
  auto keys = config_keys(copy);
  const ConfigKey* key = find_key(keys, key_name);
  if (!key) throw Error(unknown_key_message(keys, key_name));
  return value_text(*key);
}

std::string config_to_yaml(const Config& c) {
  Config copy = c;
  std::string out = "# prism run configuration (every key; see docs/config.md)\n";
  std::vector<std::string> open;  // the sections of the previous key
  for (const ConfigKey& key : config_keys(copy)) {
    const std::vector<std::string> parts = split_dots(key.name);
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) ++common;
    for (size_t level = common; level + 1 < parts.size(); ++level)
      out += std::string(2 * level, ' ') + parts[level] + ":\n";
    open.assign(parts.begin(), parts.end() - 1);
    out +=
        std::string(2 * (parts.size() - 1), ' ') + parts.back() + ": " + value_text(key) + "  # " + key.help;
    if (!key.choices.empty()) {
      out += " (";
      for (size_t i = 0; i < key.choices.size(); ++i) out += (i ? " | " : "") + key.choices[i];
      out += ")";
    }
    out += "\n";
  }
  return out;
}

}  // namespace prism
