// libFuzzer target: checkpoint load (TrainingRun::load_checkpoint → prism::load_checkpoint) into a small
// prism run (mlp on generated .npy features, memory bank, selector window, sampler). Each input is loaded as
// given and, when it parses as safetensors, again with its checksum recomputed, so mutations reach the
// per-part checks behind the CRC. prism::Error is the expected outcome; anything else is a finding.
#include <memory>
#include <vector>

#include "fuzz_util.hpp"
#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/npy.hpp"
#include "prism/data/safetensors.hpp"
#include "prism/train/checkpoint.hpp"
#include "prism/train/config.hpp"
#include "prism/train/data_setup.hpp"
#include "prism/train/run.hpp"

namespace {

// 4 classes × 6 rows of 8 features; 3 training steps so the memory, window and optimizer moments hold data.
prism::TrainingRun& fuzz_run() {
  static std::unique_ptr<prism::TrainingRun> run = [] {
    prism::set_num_threads(1);
    const int64_t rows = 24, dims = 8;
    std::vector<float> features(rows * dims);
    std::vector<int64_t> labels(rows);
    for (int64_t i = 0; i < rows; ++i) {
      labels[i] = i % 4;
      for (int64_t d = 0; d < dims; ++d)
        features[i * dims + d] =
            static_cast<float>((i * 7 + d * 3) % 11) / 11.0f + (d == labels[i] ? 1.0f : 0.0f);
    }
    const std::string features_path = prism::fuzz::write_scratch("features.npy", "");
    const std::string labels_path = prism::fuzz::write_scratch("labels.npy", "");
    prism::write_npy_f32(features_path, {rows, dims}, features);
    prism::write_npy_i64(labels_path, labels);
    const std::string yaml =
        "MODEL: {NAME: mlp, HEAD: {DIM: 4}, MLP: {HIDDEN: [6]}}\n"
        "SOLVER: {MAX_ITERS: 10}\n"
        "XBM: {ENABLE: true, SIZE: 16, START_ITERATION: 0}\n"
        "NOISE: {METHOD: prism, TYPE: none, NOISE_RATE: 0.25, WINDOW_SIZE: 5}\n"
        "DATA: {DATASET: npy, TRAIN_FEATURES: " +
        features_path + ", TRAIN_LABELS: " + labels_path + ", TEST_FEATURES: " + features_path +
        ", TEST_LABELS: " + labels_path +
        ", TRAIN_BATCHSIZE: 8, NUM_INSTANCES: 2, TEST_BATCHSIZE: 8}\n"
        "RUN: {DEVICE: cpu, MODE: exact, THREADS: 1}\n";
    const prism::Config config = prism::load_config(prism::fuzz::write_scratch("config.yaml", yaml), {});
    auto r = std::make_unique<prism::TrainingRun>(config, prism::open_datasets(config).train,
                                                  prism::DeviceType::cpu);
    for (int64_t it = 0; it < 3; ++it) r->step(r->load_batch(it));
    // The committed seed (tests/fuzz/corpus/fuzz_checkpoint/valid.safetensors) is this file.
    r->save_checkpoint(prism::fuzz::write_scratch("seed.safetensors", ""));
    return r;
  }();
  return *run;
}

void load(const std::string& bytes) {
  const std::string path = prism::fuzz::write_scratch("checkpoint.safetensors", bytes);
  try {
    fuzz_run().load_checkpoint(path);
  } catch (const prism::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = prism::fuzz::bytes_of(data, size);
  load(bytes);
  prism::SafeTensors st;
  try {
    st = prism::parse_safetensors(bytes, "fuzz.safetensors");
  } catch (const prism::Error&) {
    return 0;
  }
  st.metadata[prism::kCheckpointChecksumKey] = prism::checkpoint_checksum(st);
  const std::string path = prism::fuzz::write_scratch("rechecked.safetensors", "");
  try {
    prism::write_safetensors(path, st);
  } catch (const prism::Error&) {
    return 0;
  }
  load(prism::read_file(path));
  return 0;
}
