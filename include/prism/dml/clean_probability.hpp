// The clean probability of batch samples against the memory bank (DESIGN §4.3) and the table of its forms,
// selected by NOISE.CLEAN_PROBABILITY (center | full | vmf | vmf_log). Reference wiring of backend kernels: the
// similarities and softmax run on the device, each sample's own class is picked on the host (the per-class vMF
// fit is host code in double, dml/vmf.hpp). A new form is a new row of clean_forms() (DESIGN §7).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "prism/core/tensor.hpp"
#include "prism/dml/memory_bank.hpp"

namespace prism::dml {

// AvgSim: P_clean(i) = exp(T(i, y_i)) / Σ_k exp(T(i, k)) over all C classes, T(i, k) = mean over memory rows j
// of class k of f_i · v_j; a class without rows has T = 0; a sample whose own class has no rows gets
// P_clean = 1.
// vMF-Sim (DESIGN §4.11, our formulation): each class k with rows is a von Mises–Fisher distribution (μ_k, κ_k)
// fitted to its memory rows; ℓ(i, k) = ln C_d(κ_k) + κ_k μ_k · f_i and P_clean(i) = softmax over the classes with
// rows of ℓ(i, ·) at y_i (1 when y_i has no rows). vmf_log ranks by ln P_clean instead (no float saturation).
enum class CleanForm { center, full, vmf, vmf_log };

// Center form: T(i, k) = f_i · w_k with the bank's class centers (O(n·C·d)).
std::vector<float> clean_probability_center(const Tensor& emb, const std::vector<int32_t>& labels,
                                            MemoryBank& bank);
// Full form, the definition: T(i, k) = (Σ_j f_i · v_j) / count_k over the class's rows (O(n·K·d)).
std::vector<float> clean_probability_full(const Tensor& emb, const std::vector<int32_t>& labels,
                                          const MemoryBank& bank);
// vMF-Sim: P_clean (vmf) and ln P_clean (vmf_log, computed on the host in double from the device's ℓ).
std::vector<float> clean_probability_vmf(const Tensor& emb, const std::vector<int32_t>& labels,
                                         MemoryBank& bank);
std::vector<float> clean_log_probability_vmf(const Tensor& emb, const std::vector<int32_t>& labels,
                                             MemoryBank& bank);
// The [n, C] matrix the form takes the softmax of (T for center / full, ℓ for vmf / vmf_log, −inf in the
// columns of classes without rows) (for tests and `prism select`), on emb's device.
Tensor class_similarity(const Tensor& emb, MemoryBank& bank, CleanForm form);

// ---- the form table ----------------------------------------------------------------------------------------
struct CleanFormSpec {
  const char* name;  // the NOISE.CLEAN_PROBABILITY value, `prism select --form`
  CleanForm form;
  // P_clean of every batch sample (emb [n, d] on the bank's device, labels in [0, C)), bank read only
  // (the center form refreshes the bank's cached centers).
  std::vector<float> (*probability)(const Tensor& emb, const std::vector<int32_t>& labels, MemoryBank& bank);
  const char* summary;
  // The values are ln P_clean (≤ 0, 0 = certainly clean) instead of P_clean: sTRM's "q = 1 is not a threshold"
  // test becomes q = 0, everything else (ranking, window mean, p > threshold) is unchanged.
  bool log_scale = false;
};

std::span<const CleanFormSpec> clean_forms();
const CleanFormSpec& clean_form_spec(CleanForm form);
const CleanFormSpec& clean_form_spec(const std::string& name);  // throws listing the names
std::vector<std::string> clean_form_names();
const char* clean_form_name(CleanForm f);
CleanForm parse_clean_form(const std::string& s);

}  // namespace prism::dml
