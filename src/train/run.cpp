// The training run and its step (reference code; see run.hpp). Every random choice is a pure function of
// (SEED, iteration) and the checkpoint holds all other state, so a resumed run continues bit for bit and two
// devices in exact mode agree on every bit (DESIGN §3, §6).
#include "prism/train/run.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/profile.hpp"
#include "prism/core/runtime.hpp"
#include "prism/dml/contrastive.hpp"
#include "prism/nn/import.hpp"
#include "prism/nn/models.hpp"
#include "prism/nn/resnet.hpp"
#include "prism/train/checkpoint.hpp"

namespace prism {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::unique_ptr<nn::Optimizer> make_optimizer(const Config& c, nn::NamedTensors params) {
  if (c.solver.optimizer_name == "SGD") {
    nn::SgdOptions o;
    o.lr = c.solver.base_lr;
    o.momentum = c.solver.momentum;
    o.weight_decay = c.solver.weight_decay;
    return std::make_unique<nn::Sgd>(std::move(params), o);
  }
  nn::AdamOptions o;
  o.lr = c.solver.base_lr;
  o.weight_decay = c.solver.weight_decay;
  return std::make_unique<nn::Adam>(std::move(params), o);
}

std::shared_ptr<nn::Module> make_embedder(const Config& c, const Dataset& train) {
  nn::ModelOptions mo;
  mo.embed_dim = c.model.head_dim;
  mo.hidden = c.model.mlp_hidden;
  mo.seed = static_cast<uint64_t>(c.seed);
  const Shape sample = train.sample_shape();
  if (c.model.name == "mlp") {
    if (sample.size() != 1) throw Error("MODEL.NAME mlp needs feature vectors (DATA.DATASET npy)");
    mo.in_features = sample[0];
  } else {
    if (sample.size() != 3) throw Error("MODEL.NAME " + c.model.name + " needs images [C, H, W]");
    mo.in_channels = sample[0];
  }
  return nn::make_model(c.model.name, mo);
}

}  // namespace

// ---- selection totals --------------------------------------------------------------------------------------

void SelectionTotals::add(const dml::SelectionStats& s) {
  if (s.noisy < 0) return;  // no noise flags: nothing to count
  kept += s.kept;
  clean_kept += s.clean_kept;
  noisy += s.noisy;
  noisy_removed += s.noisy_removed;
}

double SelectionTotals::precision() const {
  return kept > 0 ? static_cast<double>(clean_kept) / static_cast<double>(kept) : kNaN;
}

double SelectionTotals::recall() const {
  return noisy > 0 ? static_cast<double>(noisy_removed) / static_cast<double>(noisy) : kNaN;
}

// ---- construction ------------------------------------------------------------------------------------------

std::shared_ptr<nn::Module> build_model(const Config& config, const Dataset& train_set, DeviceType device,
                                        std::vector<std::string>* frozen) {
  std::shared_ptr<nn::Module> model = make_embedder(config, train_set);
  if (config.model.pretrain) {
    const nn::ImportReport imported = nn::import_weights(*model, config.model.pretrained_path);
    std::fprintf(stderr, "imported %lld backbone tensors from %s (%lld classifier entries dropped)\n",
                 static_cast<long long>(imported.loaded), config.model.pretrained_path.c_str(),
                 static_cast<long long>(imported.dropped_head));
  }
  std::vector<std::string> frozen_names =
      nn::freeze_backbone_batch_norm(*model, config.model.freeze_bn_stats, config.model.freeze_bn_affine);
  if (frozen) *frozen = std::move(frozen_names);
  model->to(device);
  return model;
}

TrainingRun::TrainingRun(const Config& config, DatasetPtr train_set, DeviceType device)
    : config_(config), device_(device), train_set_(std::move(train_set)) {
  if (!train_set_) throw Error("TrainingRun: no training set");
  method_ = &dml::method_spec(config_.noise.method);
  if (method_->needs_noise_flags && !train_set_->has_noise_flags())
    throw Error("NOISE.METHOD " + std::string(method_->name) +
                " needs known noise flags (NOISE.TYPE or DATA.TRAIN_CLEAN_SOURCE)");
  backend(device_);  // throws naming why the device is unavailable
  const int32_t num_classes = train_set_->num_classes();

  std::vector<std::string> frozen;
  model_ = build_model(config_, *train_set_, device_, &frozen);
  model_->train();
  dml::LossOptions lo;
  lo.margin = config_.losses.margin;
  lo.num_classes = num_classes;
  lo.dim = config_.model.head_dim;
  lo.seed = static_cast<uint64_t>(config_.seed);
  loss_ = dml::make_loss(config_.losses.name, lo);
  nn::NamedTensors params;
  for (auto& [name, t] : model_->named_parameters())
    if (std::find(frozen.begin(), frozen.end(), name) == frozen.end()) params.emplace_back(name, t);
  if (nn::Module* lp = loss_->parameter_module()) {
    lp->to(device_);
    for (auto& [name, t] : lp->named_parameters()) params.emplace_back("loss." + name, t);
  }
  optimizer_ = make_optimizer(config_, std::move(params));
  for (size_t k = 0; k < optimizer_->params().size(); ++k)
    if (nn::is_head_parameter(optimizer_->params()[k].first))
      optimizer_->set_lr_multiplier(k, config_.solver.head_lr_mult);
  schedule_ =
      nn::CosineSchedule{config_.solver.base_lr, 0.0, config_.solver.max_iters, config_.solver.warmup_iters};
  if (config_.solver.lr_schedular == "cos") schedule_.validate();

  if (method_->uses_memory)
    bank_ = std::make_unique<dml::MemoryBank>(config_.xbm.size, config_.model.head_dim, num_classes, device_);
  dml::SelectorConfig sc;
  sc.method = method_->selection;
  sc.noise_rate = config_.noise.noise_rate;
  sc.window = config_.noise.window_size;
  sc.warmup = config_.noise.warm_up;
  sc.form = dml::parse_clean_form(config_.noise.clean_probability);
  sc.knn_k = config_.noise.knn_k;
  sc.knn_alpha = config_.noise.knn_alpha;
  selector_ = std::make_unique<dml::Selector>(sc);
  sampler_ =
      std::make_unique<dml::PKSampler>(train_set_->labels(), config_.data.train_batchsize,
                                       config_.data.num_instances, static_cast<uint64_t>(config_.seed));
}

TrainingRun::~TrainingRun() = default;

// ---- batches -----------------------------------------------------------------------------------------------

std::vector<int64_t> TrainingRun::batch_indices(int64_t it) const {
  return sampler_->batch(static_cast<uint64_t>(it)).indices;
}

Batch TrainingRun::load_batch(int64_t it) const {
  return train_set_->load_batch(batch_indices(it), true, static_cast<uint64_t>(config_.seed),
                                static_cast<uint64_t>(it * config_.data.train_batchsize));
}

double TrainingRun::lr_at(int64_t it) const {
  return config_.solver.lr_schedular == "cos" ? schedule_.lr_at(it) : config_.solver.base_lr;
}

// ---- the step (DESIGN §4.5) --------------------------------------------------------------------------------

StepResult TrainingRun::step(const Batch& batch) {
  // The profiler's phases (prism/core/profile.hpp; off unless `prism bench train` turns it on) only time.
  profile::Scope step_scope("step");
  const int64_t it = iteration_;
  const std::vector<int32_t> labels = batch.labels.to_vector_i32();
  std::vector<uint8_t> flags;
  if (train_set_->has_noise_flags())
    for (int64_t idx : batch.indices) flags.push_back(train_set_->noise_flag(idx));
  const std::vector<uint8_t>* flags_ptr = flags.empty() ? nullptr : &flags;

  Tensor emb;
  {
    profile::Scope phase("forward");
    emb = model_->forward(batch.inputs.to(device_));
  }
  // The memory is read before this batch is added (read, then write: DESIGN §4.2).
  const bool memory_on = method_->uses_memory && it >= config_.xbm.start_iteration;
  StepResult r;
  r.memory_on = memory_on;
  r.has_noise_flags = flags_ptr != nullptr;
  {
    profile::Scope phase("selection");
    r.selection = memory_on ? selector_->select(it, emb.detach(), labels, bank_.get(), flags_ptr)
                            : selector_->keep_all(static_cast<int64_t>(labels.size()), flags_ptr);
  }

  Tensor batch_term, loss, memory_term;
  {
    profile::Scope phase("loss");
    const Tensor labels_t = dml::label_tensor(labels, device_);
    const Tensor keep_t = dml::mask_tensor(r.selection.keep, device_);
    batch_term = dml::batch_loss(*loss_, emb, labels_t, keep_t, r.selection.stats.kept);
    loss = batch_term;
    if (memory_on && !bank_->empty()) {
      memory_term =
          dml::memory_loss(*loss_, emb, labels_t, keep_t, bank_->embeddings(), bank_->labels_device());
      loss = add(batch_term, scale(memory_term, static_cast<float>(config_.xbm.weight)));
    }
    // The contrastive loss skips pairs whose similarity is NaN (as the official code does), so non-finite
    // embeddings are checked directly as well as the loss.
    r.loss = loss.item();
    const float emb_sum = sum(emb.detach()).item();
    if (!std::isfinite(r.loss) || !std::isfinite(emb_sum))
      throw DivergedError(std::string(std::isfinite(r.loss) ? "the embeddings became non-finite"
                                                            : "the loss became " + std::to_string(r.loss)) +
                          " at iteration " + std::to_string(it + 1));
    r.batch_loss = batch_term.item();
    if (memory_term.defined()) {
      r.memory_loss = memory_term.item();
      r.has_memory_loss = true;
    }
  }

  r.lr = lr_at(it);
  optimizer_->zero_grad();
  if (loss.requires_grad()) {
    profile::Scope phase("backward");
    loss.backward();
  }
  {
    profile::Scope phase("optimizer");
    optimizer_->set_lr(r.lr);
    optimizer_->step();
  }
  if (memory_on) {
    profile::Scope phase("enqueue");
    static const std::vector<uint8_t> all;  // empty keep = every row
    bank_->enqueue(emb.detach(), labels, batch.indices,
                   method_->enqueue == dml::EnqueuePolicy::all ? all : r.selection.keep);
  }
  // Statistics count from the memory's start for methods with memory (before it nothing is selected).
  if (memory_on || !method_->uses_memory) totals_.add(r.selection.stats);

  iteration_ = it + 1;
  sampler_->set_counter(static_cast<uint64_t>(iteration_));  // the next batch number
  r.iteration = iteration_;
  r.memory_size = bank_ ? bank_->size() : 0;
  last_loss_ = loss.detach();
  last_embeddings_ = emb.detach();
  last_p_clean_ = r.selection.p_clean;
  last_keep_ = r.selection.keep;
  return r;
}

// ---- state -------------------------------------------------------------------------------------------------

std::vector<std::pair<std::string, Tensor>> TrainingRun::state_tensors() const {
  std::vector<std::pair<std::string, Tensor>> s;
  auto host = [](const Tensor& t) { return t.to(DeviceType::cpu); };
  // Parameters in the order the forward pass uses them, then buffers: the first differing tensor is then
  // the earliest one in the network.
  for (const auto& [name, t] : model_->named_parameters()) s.emplace_back("model." + name, host(t));
  for (const auto& [name, t] : model_->named_buffers()) s.emplace_back("model." + name, host(t));
  const nn::OptimizerState opt = optimizer_->state();
  for (const auto& [name, t] : opt.tensors) s.emplace_back("optimizer." + name, host(t));
  std::vector<float> scalars;
  for (const auto& [name, v] : opt.scalars) scalars.push_back(static_cast<float>(v));
  s.emplace_back("optimizer.scalars", Tensor::from_vector({static_cast<int64_t>(scalars.size())}, scalars));
  if (nn::Module* lp = loss_->parameter_module())
    for (const auto& [name, t] : lp->state()) s.emplace_back("loss." + name, host(t));
  if (bank_) {
    dml::StateDict memory;
    bank_->save_state(memory);
    for (const auto& [name, t] : memory.tensors) s.emplace_back(name, host(t));
    s.emplace_back("memory.position",
                   Tensor::from_vector_i32(
                       {2}, {static_cast<int32_t>(bank_->size()), static_cast<int32_t>(bank_->next_slot())}));
  }
  dml::StateDict sel;
  selector_->save_state(sel);
  for (const auto& [name, t] : sel.tensors) s.emplace_back(name, host(t));
  const int64_t n = static_cast<int64_t>(last_keep_.size());
  s.emplace_back("selection.p_clean",
                 Tensor::from_vector({static_cast<int64_t>(last_p_clean_.size())}, last_p_clean_));
  s.emplace_back("selection.keep",
                 Tensor::from_vector_i32({n}, std::vector<int32_t>(last_keep_.begin(), last_keep_.end())));
  if (last_loss_.defined()) s.emplace_back("loss", host(last_loss_));
  if (last_embeddings_.defined()) s.emplace_back("embeddings", host(last_embeddings_));
  return s;
}

void TrainingRun::save_checkpoint(const std::string& path) const {
  CheckpointTotals totals{totals_.kept, totals_.clean_kept, totals_.noisy, totals_.noisy_removed};
  TrainState st{model_.get(), optimizer_.get(), loss_->parameter_module(),
                bank_.get(),  selector_.get(),  sampler_.get(),
                &totals,      iteration_};
  prism::save_checkpoint(path, st, method_->name);
}

void TrainingRun::load_checkpoint(const std::string& path) {
  CheckpointTotals totals;
  TrainState st{model_.get(),
                optimizer_.get(),
                loss_->parameter_module(),
                bank_.get(),
                selector_.get(),
                sampler_.get(),
                &totals,
                0};
  prism::load_checkpoint(path, st, method_->name);
  if (st.iteration < 0 || st.iteration > config_.solver.max_iters)
    throw Error(path + ": checkpoint iteration " + std::to_string(st.iteration) + " is outside [0, " +
                std::to_string(config_.solver.max_iters) + "] (SOLVER.MAX_ITERS)");
  iteration_ = st.iteration;
  // Checkpoints written before the sampler counter tracked the iteration hold 0; the batch number is the
  // iteration either way.
  sampler_->set_counter(static_cast<uint64_t>(iteration_));
  totals_ = SelectionTotals{totals.kept, totals.clean_kept, totals.noisy, totals.noisy_removed};
}

// ---- evaluation --------------------------------------------------------------------------------------------

Tensor embed_dataset(nn::Module& model, const Dataset& data, int64_t batch, uint64_t seed, DeviceType device,
                     EmbedOutput output, const std::function<void(int64_t, int64_t)>& progress) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  std::vector<float> all;
  int64_t dim = 0;
  for (int64_t b0 = 0; b0 < data.size(); b0 += batch) {
    std::vector<int64_t> idx;
    for (int64_t i = b0; i < std::min(data.size(), b0 + batch); ++i) idx.push_back(i);
    Batch b = data.load_batch(idx, false, seed, 0);
    const Tensor x = b.inputs.to(device);
    std::vector<float> e =
        (output == EmbedOutput::embedding ? model.forward(x) : nn::embedder_features(model, x)).to_vector();
    dim = static_cast<int64_t>(e.size()) / static_cast<int64_t>(idx.size());
    all.insert(all.end(), e.begin(), e.end());
    if (progress) progress(b0 + static_cast<int64_t>(idx.size()), data.size());
  }
  model.train(was_training);
  return Tensor::from_vector({data.size(), dim}, all);
}

}  // namespace prism
