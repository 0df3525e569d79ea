// One training run, built once from a validated config (DESIGN §6): the model, the loss, the optimizer and
// its LR schedule, the memory bank, the selector and the sampler, and THE training step (DESIGN §4.5) — the
// one that `prism train`, `prism check` and `prism bench train` all call. Reference code; docs/training.md
// walks the step with the config keys that drive it.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "prism/core/runtime.hpp"
#include "prism/core/tensor.hpp"
#include "prism/data/dataset.hpp"
#include "prism/dml/loss.hpp"
#include "prism/dml/memory_bank.hpp"
#include "prism/dml/methods.hpp"
#include "prism/dml/sampler.hpp"
#include "prism/dml/selector.hpp"
#include "prism/nn/module.hpp"
#include "prism/nn/optim.hpp"
#include "prism/nn/schedule.hpp"
#include "prism/train/config.hpp"

namespace prism {

// The step's loss or embeddings became non-finite (the usual cause: a learning rate too large).
struct DivergedError : Error {
  using Error::Error;
};

// Running totals of the selection statistics over the iterations that count: from XBM.START_ITERATION on
// for methods with memory, every iteration otherwise. They are part of the checkpoint, so a resumed run
// reports the same totals as an uninterrupted one.
struct SelectionTotals {
  int64_t kept = 0, clean_kept = 0, noisy = 0, noisy_removed = 0;
  void add(const dml::SelectionStats& s);
  double precision() const;  // clean share of the kept samples (NaN without noise flags)
  double recall() const;     // share of the noisy samples removed (NaN without noise flags)
  bool operator==(const SelectionTotals&) const = default;
};

// What one step did, for the metrics log and the progress line.
struct StepResult {
  int64_t iteration = 0;  // iterations completed after this step
  float loss = 0, batch_loss = 0;
  float memory_loss = 0;
  bool has_memory_loss = false;  // false before the memory starts or while it is empty
  double lr = 0;
  bool memory_on = false;   // the memory was read (and written) this step
  int64_t memory_size = 0;  // rows in the memory after the step
  bool has_noise_flags = false;
  dml::Selection selection;
};

// The embedder exactly as a training run builds it from `config`: make_embedder's network for train_set's
// input shape, MODEL.PRETRAIN's weights imported, the backbone's batch norm frozen as MODEL.FREEZE_BN_* say
// (the frozen parameter names into *frozen), moved to `device`. TrainingRun uses it; so does `prism embed`,
// which needs no sampler, loss or optimizer.
std::shared_ptr<nn::Module> build_model(const Config& config, const Dataset& train_set, DeviceType device,
                                        std::vector<std::string>* frozen = nullptr);

class TrainingRun {
 public:
  // Builds every part from `config`, which must be valid (validate_config, called once where the run
  // starts). train_set gives the sampler its labels, the memory its class count, the model its input
  // shape and the selection statistics (and oracle) the noise flags. Parameters are initialised on the host
  // from SEED, then moved to `device`.
  TrainingRun(const Config& config, DatasetPtr train_set, DeviceType device);
  ~TrainingRun();
  TrainingRun(const TrainingRun&) = delete;
  TrainingRun& operator=(const TrainingRun&) = delete;

  const Config& config() const { return config_; }
  const dml::MethodSpec& method() const { return *method_; }
  DeviceType device() const { return device_; }
  int64_t iteration() const { return iteration_; }  // iterations completed
  const Dataset& train_set() const { return *train_set_; }
  DatasetPtr train_set_ptr() const { return train_set_; }

  // The sampler's batch for iteration `it` (dataset indices) and that batch loaded with the train transform:
  // both pure functions of (SEED, it), so a prefetcher, a resumed run and a second device get the same rows.
  std::vector<int64_t> batch_indices(int64_t it) const;
  Batch load_batch(int64_t it) const;

  // Iteration iteration() of DESIGN §4.5 on `batch` (rows of the training set, inputs on the host):
  // forward → read the memory as it is → P_clean and keep mask → batch loss on the kept samples + w · memory
  // loss (removed rows masked) → backward → optimizer step at the schedule's lr → enqueue the rows the
  // method's policy names, detached. Throws prism::Error naming the iteration when the loss or the embeddings
  // are not finite; the parameters, the optimizer and the memory are then as they were before the step.
  StepResult step(const Batch& batch);

  // Everything that must agree between two devices or thread counts after a step, in a fixed order, as
  // host tensors: parameters and buffers, optimizer state, loss parameters, memory (embeddings, labels,
  // sample indices, ring position), selector window, the last step's selection (P_clean, keep), loss and
  // embeddings.
  std::vector<std::pair<std::string, Tensor>> state_tensors() const;

  // The whole state in one safetensors file (byte-identical for identical states), and back.
  void save_checkpoint(const std::string& path) const;
  void load_checkpoint(const std::string& path);

  nn::Module& model() { return *model_; }
  const nn::Module& model() const { return *model_; }
  nn::Optimizer& optimizer() { return *optimizer_; }
  dml::Loss& loss() { return *loss_; }
  dml::MemoryBank* memory() { return bank_.get(); }  // null for methods without memory
  const dml::Selector& selector() const { return *selector_; }
  const SelectionTotals& totals() const { return totals_; }

 private:
  double lr_at(int64_t it) const;

  Config config_;
  const dml::MethodSpec* method_;
  DeviceType device_;
  DatasetPtr train_set_;
  std::shared_ptr<nn::Module> model_;
  std::unique_ptr<dml::Loss> loss_;
  std::unique_ptr<nn::Optimizer> optimizer_;
  nn::CosineSchedule schedule_;
  std::unique_ptr<dml::MemoryBank> bank_;
  std::unique_ptr<dml::Selector> selector_;
  std::unique_ptr<dml::PKSampler> sampler_;
  int64_t iteration_ = 0;
  SelectionTotals totals_;
  // The last step's values, for state_tensors().
  Tensor last_loss_, last_embeddings_;
  std::vector<float> last_p_clean_;
  std::vector<uint8_t> last_keep_;
};

// What embed_dataset returns per sample: the model's output (the L2-normalised embedding) or the backbone's
// output before the head (nn::embedder_features: a ResNet's global-average-pool features), for `prism embed`.
enum class EmbedOutput { embedding, backbone_features };

// Embeddings (or backbone features) of a whole dataset with the test transform, model in eval mode, no graph;
// [N, d] on the host. `progress`, when given, is called after each batch with (rows done, rows in all).
Tensor embed_dataset(nn::Module& model, const Dataset& data, int64_t batch, uint64_t seed, DeviceType device,
                     EmbedOutput output = EmbedOutput::embedding,
                     const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace prism
