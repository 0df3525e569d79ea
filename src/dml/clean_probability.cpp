// Clean probability of batch samples against the memory bank, center form and full-memory form (DESIGN
// §4.3), and the form table. Reference wiring of core ops (no gradients recorded): matmul for the
// similarities, segment_mean_rows for the full form's class averages, add (the vMF log normalisers as a
// column bias), softmax_rows; the [n, C] probabilities come back to the host, where each sample's own class is
// picked. The vMF fit (κ, ln C_d) is host code in double (dml/vmf.hpp).
#include <array>
#include <cmath>
#include <limits>

#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"
#include "prism/dml/clean_probability.hpp"
#include "prism/dml/vmf.hpp"

namespace prism::dml {

namespace {

void check_batch(const Tensor& emb, const std::vector<int32_t>* labels, const MemoryBank& bank,
                 const char* fn) {
  const std::string where = std::string(fn) + ": ";
  if (!emb.defined() || emb.dtype() != DType::f32 || emb.dim() != 2 || emb.size(1) != bank.dim())
    throw Error(where + "embeddings must be f32 [n, " + std::to_string(bank.dim()) + "], got " +
                emb.describe());
  if (emb.device() != bank.device())
    throw Error(where + "embeddings on " + device_name(emb.device()) + ", memory on " +
                device_name(bank.device()));
  if (!labels) return;
  if (static_cast<int64_t>(labels->size()) != emb.size(0))
    throw Error(where + std::to_string(labels->size()) + " labels for " + std::to_string(emb.size(0)) +
                " embeddings");
  for (size_t i = 0; i < labels->size(); ++i)
    if ((*labels)[i] < 0 || (*labels)[i] >= bank.num_classes())
      throw Error(where + "label " + std::to_string((*labels)[i]) + " of sample " + std::to_string(i) +
                  " is outside [0, " + std::to_string(bank.num_classes()) + ")");
}

Tensor similarity_center(const Tensor& emb, MemoryBank& bank) {
  return matmul(emb, bank.centers(), false, true);  // T[i, k] = f_i · w_k
}

Tensor similarity_full(const Tensor& emb, const MemoryBank& bank) {
  const int64_t n = emb.size(0), C = bank.num_classes();
  if (bank.size() == 0 || n == 0) return Tensor::zeros({n, C}, DType::f32, emb.device());
  // S[j, i] = v_j · f_i, memory-major so that a class's rows are rows of S and segment_mean_rows can average
  // them.
  Tensor S = matmul(bank.embeddings(), emb, false, true);
  std::vector<int32_t> order, offsets;
  bank.class_order(order, offsets);
  return transpose(segment_mean_rows(S, order, offsets));
}

// ℓ[i, k] = ln C_d(κ_k) + (κ_k μ_k) · f_i: one GEMM against the host-built [C, d] matrix of κ_k μ_k (float)
// plus the log normalisers as a column bias; −inf (a zero row plus a −inf bias) for classes without rows, so
// the softmax gives them exactly 0.
Tensor log_density_vmf(const Tensor& emb, MemoryBank& bank) {
  const int64_t n = emb.size(0), C = bank.num_classes(), d = bank.dim();
  const VmfFit fit = vmf_fit(bank);
  std::vector<float> bias(C, -std::numeric_limits<float>::infinity());
  for (int64_t k = 0; k < C; ++k)
    if (fit.count[k] > 0) bias[k] = static_cast<float>(fit.log_c[k]);
  if (n == 0) return Tensor::zeros({0, C}, DType::f32, emb.device());
  const Tensor A = Tensor::from_vector({C, d}, fit.scaled_mean, emb.device());
  return add(matmul(emb, A, false, true), Tensor::from_vector({C}, bias, emb.device()));
}

std::vector<float> probability_of_own_class(const Tensor& T, const std::vector<int32_t>& labels,
                                            const MemoryBank& bank) {
  const int64_t n = T.size(0), C = T.size(1);
  if (n == 0) return {};
  const std::vector<float> host = softmax_rows(T).to_vector();
  std::vector<float> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = bank.class_counts()[labels[i]] == 0 ? 1.0f : host[i * C + labels[i]];
  return p;
}

}  // namespace

Tensor class_similarity(const Tensor& emb, MemoryBank& bank, CleanForm form) {
  check_batch(emb, nullptr, bank, "class_similarity");
  NoGradGuard no_grad;
  switch (form) {
    case CleanForm::center:
      return similarity_center(emb.detach(), bank);
    case CleanForm::full:
      return similarity_full(emb.detach(), bank);
    case CleanForm::vmf:
    case CleanForm::vmf_log:
      return log_density_vmf(emb.detach(), bank);
  }
  throw Error("class_similarity: form " + std::to_string(static_cast<int>(form)) + " has no definition");
}

std::vector<float> clean_probability_center(const Tensor& emb, const std::vector<int32_t>& labels,
                                            MemoryBank& bank) {
  check_batch(emb, &labels, bank, "clean_probability_center");
  NoGradGuard no_grad;
  return probability_of_own_class(similarity_center(emb.detach(), bank), labels, bank);
}

std::vector<float> clean_probability_full(const Tensor& emb, const std::vector<int32_t>& labels,
                                          const MemoryBank& bank) {
  check_batch(emb, &labels, bank, "clean_probability_full");
  NoGradGuard no_grad;
  return probability_of_own_class(similarity_full(emb.detach(), bank), labels, bank);
}

std::vector<float> clean_probability_vmf(const Tensor& emb, const std::vector<int32_t>& labels,
                                         MemoryBank& bank) {
  check_batch(emb, &labels, bank, "clean_probability_vmf");
  NoGradGuard no_grad;
  return probability_of_own_class(log_density_vmf(emb.detach(), bank), labels, bank);
}

std::vector<float> clean_log_probability_vmf(const Tensor& emb, const std::vector<int32_t>& labels,
                                             MemoryBank& bank) {
  check_batch(emb, &labels, bank, "clean_log_probability_vmf");
  NoGradGuard no_grad;
  const int64_t n = emb.size(0), C = bank.num_classes();
  const std::vector<float> l = log_density_vmf(emb.detach(), bank).to_vector();
  // ln P(i, y) = ℓ(i, y) − (m + ln Σ_k e^{ℓ(i, k) − m}), m the row maximum, k over the classes with rows, in
  // double with the portable exp/log: the same bits on every machine, and no 0/1 saturation.
  std::vector<float> out(n, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    if (bank.class_counts()[labels[i]] == 0) continue;  // ln 1
    const float* row = l.data() + i * C;
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < C; ++k)
      if (bank.class_counts()[k] > 0) m = std::max(m, static_cast<double>(row[k]));
    double total = 0.0;
    for (int64_t k = 0; k < C; ++k)
      if (bank.class_counts()[k] > 0) total += exp_portable_d(static_cast<double>(row[k]) - m);
    out[i] = static_cast<float>(static_cast<double>(row[labels[i]]) - m - log_portable_d(total));
  }
  return out;
}

// ---- the form table ----------------------------------------------------------------------------------------

namespace {

std::vector<float> probability_full(const Tensor& emb, const std::vector<int32_t>& labels, MemoryBank& bank) {
  return clean_probability_full(emb, labels, bank);
}

constexpr std::array<CleanFormSpec, 4> kForms = {{
    {"center", CleanForm::center, clean_probability_center,
     "AvgSim from the class centers of the memory (the paper's acceleration, O(n C d))", false},
    {"full", CleanForm::full, probability_full, "AvgSim from every memory row, the definition (O(n K d))",
     false},
    {"vmf", CleanForm::vmf, clean_probability_vmf,
     "vMF-Sim: a von Mises-Fisher density per class (mean direction, kappa) fitted to its memory rows",
     false},
    {"vmf_log", CleanForm::vmf_log, clean_log_probability_vmf,
     "vMF-Sim ranked by ln P_clean (no float saturation at 0 or 1; thresholds in log space)", true},
}};

}  // namespace

std::span<const CleanFormSpec> clean_forms() {
  return kForms;
}

const CleanFormSpec& clean_form_spec(CleanForm form) {
  for (const CleanFormSpec& f : kForms)
    if (f.form == form) return f;
  throw Error("clean_form_spec: form " + std::to_string(static_cast<int>(form)) + " has no table row");
}

const CleanFormSpec& clean_form_spec(const std::string& name) {
  for (const CleanFormSpec& f : kForms)
    if (name == f.name) return f;
  std::string names;  // "center or full", "a, b or c"
  for (size_t i = 0; i < kForms.size(); ++i)
    names += (i == 0 ? "" : i + 1 == kForms.size() ? " or " : ", ") + std::string(kForms[i].name);
  throw Error("unknown clean-probability form '" + name + "' (expected " + names + ")");
}

std::vector<std::string> clean_form_names() {
  std::vector<std::string> out;
  for (const CleanFormSpec& f : kForms) out.push_back(f.name);
  return out;
}

const char* clean_form_name(CleanForm f) {
  return clean_form_spec(f).name;
}

CleanForm parse_clean_form(const std::string& s) {
  return clean_form_spec(s).form;
}

}  // namespace prism::dml
