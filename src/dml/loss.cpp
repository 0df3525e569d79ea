// The loss table and the batch / memory loss calls of the training step (reference code; see loss.hpp).
// The contrastive loss itself is the op of contrastive.cpp.
#include "prism/dml/loss.hpp"

#include "prism/core/runtime.hpp"
#include "prism/dml/contrastive.hpp"

namespace prism::dml {

namespace {

std::unique_ptr<Loss> make_contrastive(const LossOptions& o) {
  ContrastiveOptions c;
  c.margin = static_cast<float>(o.margin);
  return std::make_unique<ContrastiveLoss>(c);
}

const std::vector<LossSpec>& table() {
  static const std::vector<LossSpec> kLosses = {
      {"contrastive",
       {"contrastive_loss", "memory_contrastive_loss", "memory_contrastive_loss_w_PRISM"},
       "contrastive loss with margin LOSSES.MARGIN on cosine similarity (XBM / PRISM)",
       make_contrastive},
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
  if (!memory.defined() || memory.numel() == 0) return Tensor::zeros({1}, DType::f32, emb.device());
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
