// The loss table and the batch / memory loss calls of the training step (reference code; see loss.hpp).
// The losses themselves are the ops of contrastive.cpp, multi_similarity.cpp and softtriple.cpp.
#include "prism/dml/loss.hpp"

#include "prism/core/runtime.hpp"
#include "prism/dml/contrastive.hpp"
#include "prism/dml/multi_similarity.hpp"
#include "prism/dml/softtriple.hpp"

namespace prism::dml {

namespace {

std::unique_ptr<Loss> make_contrastive(const LossOptions& o) {
  ContrastiveOptions c;
  c.margin = static_cast<float>(o.margin);
  return std::make_unique<ContrastiveLoss>(c);
}

std::unique_ptr<Loss> make_multi_similarity(const LossOptions&) {
  return std::make_unique<MultiSimilarityLoss>();
}

std::unique_ptr<Loss> make_softtriple(const LossOptions& o) {
  if (o.num_classes <= 0 || o.dim <= 0)
    throw Error(
        "softtriple needs the class count and the embedding size (MODEL.HEAD.DIM) to build its centers");
  return std::make_unique<SoftTripleLoss>(o.num_classes, o.dim, o.seed);
}

const std::vector<LossSpec>& table() {
  static const std::vector<LossSpec> kLosses = {
      {"contrastive",
       {"contrastive_loss", "memory_contrastive_loss", "memory_contrastive_loss_w_PRISM"},
       "contrastive loss with margin LOSSES.MARGIN on cosine similarity (XBM / PRISM)",
       make_contrastive},
      {"multi_similarity",
       {"ms_loss"},
       "multi-similarity loss with hard-pair mining (Wang et al. 2019; alpha 2, beta 50, lambda 0.5, epsilon "
       "0.1) on cosine similarity, batch and memory",
       make_multi_similarity},
      {"softtriple",
       {},
       "SoftTriple loss (Qian et al. 2019; 10 centers per class, lambda 20, 1/gamma 10, delta 0.01, tau 0.2) "
       "with trainable centers; no memory term",
       make_softtriple},
  };
  return kLosses;
}

}  // namespace

Tensor batch_loss(const Loss& loss, const Tensor& emb, const Tensor& labels, const Tensor& keep,
                  int64_t kept) {
  if (!emb.defined() || emb.dim() != 2)
    throw Error("batch loss needs embeddings [n, d], got " + emb.describe());
  return loss.pairs(emb, labels, emb, labels, keep, keep, static_cast<float>(kept));
}

Tensor memory_loss(const Loss& loss, const Tensor& emb, const Tensor& labels, const Tensor& keep,
                   const Tensor& memory, const Tensor& memory_labels) {
  if (!emb.defined() || emb.dim() != 2)
    throw Error("memory loss needs embeddings [n, d], got " + emb.describe());
  if (!memory.defined() || memory.numel() == 0 || !loss.takes_memory_columns())
    return Tensor::zeros({1}, DType::f32, emb.device());
  return loss.pairs(emb, labels, memory.detach(), memory_labels, keep, Tensor(),
                    static_cast<float>(emb.size(0)));
}

std::span<const LossSpec> losses() {
  return table();
}

const LossSpec& loss_spec(const std::string& name) {
  for (const LossSpec& l : table()) {
    if (name == l.name) return l;
    for (const std::string& s : l.synonyms)
      if (name == s) return l;
  }
  std::string names;
  for (const std::string& v : loss_config_values()) names += (names.empty() ? "" : ", ") + v;
  throw Error("unknown loss '" + name + "' (expected " + names + ")");
}

std::vector<std::string> loss_config_values() {
  std::vector<std::string> out;
  for (const LossSpec& l : table()) out.push_back(l.name);
  for (const LossSpec& l : table()) out.insert(out.end(), l.synonyms.begin(), l.synonyms.end());
  return out;
}

std::unique_ptr<Loss> make_loss(const std::string& name, const LossOptions& options) {
  return loss_spec(name).make(options);
}

}  // namespace prism::dml
