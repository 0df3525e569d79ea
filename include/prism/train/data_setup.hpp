// Builds the train and test datasets a config asks for: dataset kind, split (closed / open), subsets, label
// compaction, noise flags from a cleaned list, and generated noise from the DML generators.
// Reference code.
#pragma once
#include <string>
#include <vector>

#include "prism/data/dataset.hpp"
#include "prism/data/transform.hpp"
#include "prism/train/config.hpp"

namespace prism {

struct DataSetup {
  DatasetPtr train, test;
  // Original label of each compact label 0..C-1 (labels are re-indexed after splitting and subsetting).
  std::vector<int32_t> train_classes, test_classes;
};

// The image transform the INPUT.* keys describe (with the dataset's default mean/std when they are empty).
ImageTransformSpec image_transform_spec(const Config& c);

// Opens the data of a valid config (the caller validates it first: validate_config is the one validation of a
// run, done where the run starts — prism::train, `prism check`, `prism bench train`). Order of operations: read → noise
// flags from DATA.TRAIN_CLEAN_SOURCE (raw labels) → split → subsets (first N per class, then a seeded random
// N; seeds from SEED) → labels compacted to 0..C-1 → generated noise (NOISE.TYPE != none) by `noise`, by
// default the DML generator the config names (config_noise_generator); tests may pass their own.
//
// Splits. fashion-mnist: closed = its train and test files, all 10 classes; open = train-file images of
// classes 0–4, test-file images of classes 5–9. cub / sop: their official class-disjoint split (open only).
// list / npy: with a test source, train and test are used as given (DATA.SPLIT is not consulted); without
// one, open splits the train source's classes in halves (first ceil(C/2) distinct labels train).
DataSetup open_datasets(const Config& c, const NoiseGenerator& noise = {});

// NOISE.TYPE's generator (symmetric or small-cluster from dml/noise.hpp, seeded by SEED, rate
// NOISE.INJECT_RATE or NOISE.NOISE_RATE); empty for none. Prints how many labels it changed.
NoiseGenerator config_noise_generator(const Config& c);

}  // namespace prism
