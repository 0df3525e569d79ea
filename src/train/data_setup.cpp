// From a Config to the train / test datasets (reference code; the order of operations is in data_setup.hpp).
#include "prism/train/data_setup.hpp"

#include <cstdio>

#include "prism/core/checked.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/datasets.hpp"
#include "prism/dml/noise.hpp"

namespace prism {

ImageTransformSpec image_transform_spec(const Config& c) {
  ImageTransformSpec s;
  // Range-checked: a static_cast turned ORIGIN_SIZE 3000000000 into -1294967296.
  s.resize = checked_narrow<int>(c.input.origin_size.at(0), "config: INPUT.ORIGIN_SIZE");
  s.crop = checked_narrow<int>(c.input.crop_size.at(0), "config: INPUT.CROP_SIZE");
  s.scale_min = static_cast<float>(c.input.crop_scale.at(0));
  s.scale_max = static_cast<float>(c.input.crop_scale.at(1));
  s.ratio_min = static_cast<float>(c.input.crop_ratio.at(0));
  s.ratio_max = static_cast<float>(c.input.crop_ratio.at(1));
  s.flip_prob = static_cast<float>(c.input.flip_prob);
  s.mean = c.resolved_mean();
  s.std = c.resolved_std();
  s.bgr255 = c.input.mode == "BGR";
  return s;
}

namespace {

DatasetPtr image_list_dataset(const ImageList& list, std::vector<uint8_t> flags, const Config& c,
                              const std::string& name) {
  return std::make_shared<ImageListDataset>(list, std::move(flags), c.data.root, image_transform_spec(c),
                                            parse_missing_image_policy(c.data.missing_images), name);
}

void split_by_class_halves(DatasetPtr all, DataSetup& out) {
  out.train = make_subset(all, class_half_indices(all->labels(), true));
  out.test = make_subset(all, class_half_indices(all->labels(), false));
}

DatasetPtr apply_subsets(DatasetPtr d, int64_t per_class, int64_t subset, uint64_t seed, uint64_t purpose) {
  if (per_class > 0) d = make_subset(d, first_per_class_indices(d->labels(), per_class));
  if (subset > 0 && subset < d->size())
    d = make_subset(d, random_subset_indices(d->size(), subset, seed, purpose));
  return d;
}

}  // namespace

NoiseGenerator config_noise_generator(const Config& c) {
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

DataSetup open_datasets(const Config& c, const NoiseGenerator& noise) {
  DataSetup out;
  const auto& d = c.data;
  if (d.dataset == "fashion-mnist") {
    FashionMnistTransform t;
    t.mean = c.resolved_mean().at(0);
    t.std = c.resolved_std().at(0);
    t.flip_prob = static_cast<float>(c.input.flip_prob);
    const std::string root = d.root.empty() ? kFashionMnistDefaultRoot : d.root;
    out.train = open_fashion_mnist(root, true, t);
    out.test = open_fashion_mnist(root, false, t);
    if (d.split == "open") {
      out.train = make_subset(out.train, class_half_indices(out.train->labels(), true));
      out.test = make_subset(out.test, class_half_indices(out.test->labels(), false));
    }
  } else if (d.dataset == "list") {
    const ImageList train_list = read_image_list(d.train_img_source);
    std::vector<uint8_t> flags;
    if (!d.train_clean_source.empty())
      flags =
          noise_flags_from_cleaned(train_list, read_image_list(d.train_clean_source), d.train_clean_source);
    DatasetPtr train = image_list_dataset(train_list, std::move(flags), c, d.train_img_source);
    if (!d.test_img_source.empty()) {
      out.train = train;
      out.test = image_list_dataset(read_image_list(d.test_img_source), {}, c, d.test_img_source);
    } else {
      split_by_class_halves(train, out);
    }
  } else if (d.dataset == "cub" || d.dataset == "sop") {
    const ListPair lists = d.dataset == "cub" ? read_cub200(d.root) : read_sop(d.root);
    out.train = image_list_dataset(lists.train, {}, c, d.dataset + " train");
    out.test = image_list_dataset(lists.test, {}, c, d.dataset + " test");
  } else if (d.dataset == "npy") {
    DatasetPtr train = open_npy_features(d.train_features, d.train_labels);
    if (!d.test_features.empty()) {
      out.train = train;
      out.test = open_npy_features(d.test_features, d.test_labels);
    } else {
      split_by_class_halves(train, out);
    }
  } else {
    throw Error("DATA.DATASET: unknown dataset '" + d.dataset + "'");
  }
  const uint64_t seed = static_cast<uint64_t>(c.seed);
  out.train = apply_subsets(out.train, d.train_per_class, d.train_subset, seed, 1);
  out.test = apply_subsets(out.test, d.test_per_class, d.test_subset, seed, 2);
  // Subsets share their parent's storage but own their labels: compaction never touches another dataset.
  if (out.train == out.test) throw Error("open_datasets: train and test are the same object");
  out.train_classes = out.train->compact_labels();
  out.test_classes = out.test->compact_labels();
  if (c.noise.type != "none") apply_noise(*out.train, noise ? noise : config_noise_generator(c));
  if (out.train->size() == 0) throw Error(out.train->describe() + ": no training samples left");
  if (out.test->size() == 0) throw Error(out.test->describe() + ": no test samples left");
  return out;
}

}  // namespace prism
