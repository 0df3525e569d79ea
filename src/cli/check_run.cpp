// The built-in CheckRun (reference code): the fmnist-cnn net (nn::make_model) trained with nn::Adam, a memory
// bank, PRISM-style selection (AvgSim clean probability from class centres, smooth top-R with a window) and
// the contrastive loss through the backend's fused kernels, on synthetic 28×28 images. Every random number
// comes from Philox on the host and every host decision (ranking, thresholds, ring positions) reads values
// the devices produced, so two devices in exact mode must agree on every bit, step after step.
#include "cli/check_run.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <numeric>

#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/core/tensor.hpp"
#include "prism/nn/models.hpp"
#include "prism/nn/optim.hpp"

namespace prism::cli {

namespace {

constexpr int64_t kClasses = 10, kPerClass = 4, kEmbed = 32, kImage = 28, kWindow = 5;
constexpr float kMargin = 0.5f, kPosEps = 1e-5f;

StateEntry entry(const std::string& name, const Tensor& t) {
  StateEntry e;
  e.name = name;
  e.is_f32 = t.dtype() == DType::f32;
  e.bits.resize(t.numel());
  if (e.is_f32) {
    const std::vector<float> v = t.to_vector();
    std::memcpy(e.bits.data(), v.data(), v.size() * 4);
  } else {
    const std::vector<int32_t> v = t.to_vector_i32();
    std::memcpy(e.bits.data(), v.data(), v.size() * 4);
  }
  return e;
}

// Σ over active pairs of the contrastive loss (DESIGN §4) ÷ divisor, as one differentiable op on sim, from
// the backend's fused kernels. Masks may be undefined (all on).
Tensor contrastive_loss(const Tensor& sim, const Tensor& row_labels, const Tensor& col_labels,
                        const Tensor& row_mask, const Tensor& col_mask, float divisor) {
  Backend& be = sim.backend();
  const int64_t rows = sim.size(0), cols = sim.size(1);
  const int32_t* rm = row_mask.defined() ? row_mask.data_i32() : nullptr;
  const int32_t* cm = col_mask.defined() ? col_mask.data_i32() : nullptr;
  Tensor row_loss = Tensor::empty({rows}, DType::f32, sim.device());
  be.contrastive_forward(row_loss.data_f32(), sim.data_f32(), row_labels.data_i32(), col_labels.data_i32(),
                         rm, cm, rows, cols, kMargin, kPosEps);
  Tensor total = Tensor::empty({1}, DType::f32, sim.device()),
         out = Tensor::empty({1}, DType::f32, sim.device());
  be.reduce_sum(total.data_f32(), row_loss.data_f32(), rows);
  be.binary_scalar(BinaryOp::div, out.data_f32(), total.data_f32(), divisor, 1);
  Tensor S = sim.detach();
  record(out, "contrastive_loss", {sim},
         [S, row_labels, col_labels, row_mask, col_mask, divisor, rows, cols](const Tensor& g) {
           const float scale = g.item() / divisor;
           Tensor dsim = Tensor::empty(S.shape(), DType::f32, S.device());
           S.backend().contrastive_backward(
               dsim.data_f32(), S.data_f32(), row_labels.data_i32(), col_labels.data_i32(),
               row_mask.defined() ? row_mask.data_i32() : nullptr,
               col_mask.defined() ? col_mask.data_i32() : nullptr, rows, cols, kMargin, kPosEps, scale);
           return std::vector<Tensor>{dsim};
         });
  return out;
}

class FmnistCheckRun final : public CheckRun {
 public:
  FmnistCheckRun(DeviceType device, const CheckRunOptions& opt) : dev_(device), opt_(opt) {
    if (opt.batch < kPerClass || opt.batch % kPerClass || opt.batch / kPerClass > kClasses)
      throw Error("check: --batch must be a multiple of 4 between 4 and 40, got " +
                  std::to_string(opt.batch));
    if (opt.memory < 1) throw Error("check: the memory bank needs at least one row");
    nn::ModelOptions mo;
    mo.embed_dim = kEmbed;
    mo.in_channels = 1;
    mo.seed = opt.seed;
    model_ =
        nn::make_model("fmnist-cnn", mo);  // initialised on the host, then moved: the same values everywhere
    model_->to(dev_);
    nn::AdamOptions ao;
    ao.lr = 1e-3;
    ao.weight_decay = 5e-4;
    adam_ = std::make_unique<nn::Adam>(model_->named_parameters(), ao);
    memory_ = Tensor::zeros({opt.memory, kEmbed}, DType::f32, dev_);
    memory_labels_.assign(opt.memory, -1);
    Rng templates(opt.seed, RngStream::test);
    for (int64_t c = 0; c < kClasses; ++c) {
      Rng r = templates.fork(1000 + c);
      std::vector<float> t(kImage * kImage);
      for (auto& x : t) x = r.uniform(-1, 1);
      templates_.push_back(std::move(t));
    }
  }

  void step(int64_t it) override {
    const int64_t B = opt_.batch;
    std::vector<int32_t> labels;
    Tensor x = make_batch(it, &labels);
    Tensor y = Tensor::from_vector_i32({B}, labels, dev_);

    Tensor emb = model_->forward(x);
    Tensor e = emb.detach();

    // Selection from the memory as it was before this batch (read before write).
    select(e, labels);
    Tensor keep = Tensor::from_vector_i32({B}, keep_, dev_);
    const int64_t kept = std::count(keep_.begin(), keep_.end(), 1);

    // Batch loss over the kept samples (rows and columns) + memory loss (kept rows, filled memory columns).
    Tensor loss = contrastive_loss(gram(emb), y, y, keep, keep, static_cast<float>(kept));
    if (filled_ > 0) {
      std::vector<int32_t> filled_mask(opt_.memory);
      for (int64_t j = 0; j < opt_.memory; ++j) filled_mask[j] = memory_labels_[j] >= 0;
      Tensor msim = matmul(emb, memory_, false, true);
      loss = add(loss, contrastive_loss(msim, y, Tensor::from_vector_i32({opt_.memory}, memory_labels_, dev_),
                                        keep, Tensor::from_vector_i32({opt_.memory}, filled_mask, dev_),
                                        static_cast<float>(B)));
    }
    loss.backward();
    adam_->step();
    adam_->zero_grad();
    enqueue(e, labels);
    loss_ = loss.detach();
    embeddings_ = e;
  }

  std::vector<StateEntry> state() const override {
    std::vector<StateEntry> s;
    for (const auto& [name, t] : model_->state())
      s.push_back(entry("model." + name, t));  // parameters, buffers
    for (const auto& [name, t] : adam_->state().tensors) s.push_back(entry("adam." + name, t));
    s.push_back(entry("loss", loss_));
    s.push_back(entry("embeddings", embeddings_));
    s.push_back(entry("memory.embeddings", memory_));
    s.push_back(entry("memory.labels", Tensor::from_vector_i32({opt_.memory}, memory_labels_)));
    s.push_back(entry("selection.p_clean", Tensor::from_vector({opt_.batch}, p_clean_)));
    s.push_back(entry("selection.keep", Tensor::from_vector_i32({opt_.batch}, keep_)));
    return s;
  }

  float last_loss() const override { return loss_.defined() ? loss_.item() : 0.0f; }

 private:
  // P×K batch of synthetic images: class template + noise; 1 label in 8 flipped to another class (label
  // noise, so the selection has something to find).
  Tensor make_batch(int64_t it, std::vector<int32_t>* labels) {
    Rng r = Rng(opt_.seed, RngStream::sampler).fork(it);
    std::vector<int32_t> classes(kClasses);
    std::iota(classes.begin(), classes.end(), 0);
    for (int64_t i = 0; i < kClasses - 1; ++i) std::swap(classes[i], classes[i + r.below(kClasses - i)]);
    const int64_t B = opt_.batch;
    std::vector<float> x(B * kImage * kImage);
    labels->resize(B);
    for (int64_t i = 0; i < B; ++i) {
      const int32_t c = classes[i / kPerClass];
      for (int64_t p = 0; p < kImage * kImage; ++p)
        x[i * kImage * kImage + p] = templates_[c][p] + 0.5f * r.uniform(-1, 1);
      (*labels)[i] =
          r.bernoulli(0.125f) ? static_cast<int32_t>((c + 1 + r.below(kClasses - 1)) % kClasses) : c;
    }
    return Tensor::from_vector({B, 1, kImage, kImage}, x, dev_);
  }

  // AvgSim clean probability from the class centres of the memory, then smooth top-R (DESIGN §4) on the host.
  void select(const Tensor& e, const std::vector<int32_t>& labels) {
    const int64_t B = opt_.batch;
    p_clean_.assign(B, 1.0f);
    keep_.assign(B, 1);
    if (filled_ == 0) return;
    std::vector<int32_t> order, offsets(kClasses + 1, 0);
    for (int64_t c = 0; c < kClasses; ++c) {
      for (int64_t j = 0; j < opt_.memory; ++j)
        if (memory_labels_[j] == c) order.push_back(static_cast<int32_t>(j));
      offsets[c + 1] = static_cast<int32_t>(order.size());
    }
    Tensor centers = Tensor::empty({kClasses, kEmbed}, DType::f32, dev_);
    Tensor order_t = Tensor::from_vector_i32({static_cast<int64_t>(order.size())}, order, dev_);
    Tensor offsets_t = Tensor::from_vector_i32({kClasses + 1}, offsets, dev_);
    e.backend().segment_mean_rows(centers.data_f32(), memory_.data_f32(), order_t.data_i32(),
                                  offsets_t.data_i32(), kClasses, kEmbed);
    const std::vector<float> p = softmax_rows(matmul(e, centers, false, true)).to_vector();
    for (int64_t i = 0; i < B; ++i) {
      const int32_t y = labels[i];
      p_clean_[i] = offsets[y + 1] > offsets[y] ? p[i * kClasses + y] : 1.0f;
    }
    const int64_t r = static_cast<int64_t>(std::floor(opt_.noise_rate * B));
    if (r == 0) return;
    std::vector<int64_t> rank(B);
    std::iota(rank.begin(), rank.end(), 0);
    std::stable_sort(rank.begin(), rank.end(),
                     [&](int64_t a, int64_t b) { return p_clean_[a] < p_clean_[b]; });
    const float q = p_clean_[rank[r - 1]];
    if (!std::isnan(q) && q != 1.0f) {
      window_.push_back(q);
      if (static_cast<int64_t>(window_.size()) > kWindow) window_.pop_front();
    }
    auto drop_candidates = [&] {
      for (int64_t k = 0; k < r; ++k) keep_[rank[k]] = 0;
    };
    if (window_.empty()) {
      drop_candidates();
      return;
    }
    double threshold = 0;
    for (float w : window_) threshold += w;
    threshold /= static_cast<double>(window_.size());
    int64_t kept = 0;
    for (int64_t i = 0; i < B; ++i) kept += keep_[i] = p_clean_[i] > threshold;
    if (kept == 0) {
      std::fill(keep_.begin(), keep_.end(), 1);
      drop_candidates();
      window_.erase(window_.begin(), window_.end() - 1);
    }
  }

  // Kept samples into the ring, detached.
  void enqueue(const Tensor& e, const std::vector<int32_t>& labels) {
    std::vector<int32_t> dst, src;
    for (int64_t i = 0; i < opt_.batch; ++i) {
      if (!keep_[i]) continue;
      dst.push_back(static_cast<int32_t>(head_));
      src.push_back(static_cast<int32_t>(i));
      memory_labels_[head_] = labels[i];
      head_ = (head_ + 1) % opt_.memory;
      filled_ = std::min(filled_ + 1, opt_.memory);
    }
    if (dst.empty()) return;
    const int64_t n = static_cast<int64_t>(dst.size());
    Tensor d = Tensor::from_vector_i32({n}, dst, dev_), s = Tensor::from_vector_i32({n}, src, dev_);
    memory_.backend().copy_rows(memory_.data_f32(), d.data_i32(), e.data_f32(), s.data_i32(), n, kEmbed);
  }

  DeviceType dev_;
  CheckRunOptions opt_;
  std::shared_ptr<nn::Module> model_;
  std::unique_ptr<nn::Adam> adam_;
  std::vector<std::vector<float>> templates_;
  Tensor memory_, loss_, embeddings_;
  std::vector<int32_t> memory_labels_, keep_;
  std::vector<float> p_clean_;
  std::deque<float> window_;
  int64_t head_ = 0, filled_ = 0;
};

}  // namespace

std::unique_ptr<CheckRun> make_check_run(DeviceType device, const CheckRunOptions& options) {
  return std::make_unique<FmnistCheckRun>(device, options);
}

}  // namespace prism::cli
