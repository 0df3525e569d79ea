// PRISM instance selection (DESIGN §4.4): the selector that turns the clean probability of each batch sample
// (a form of clean_probability.hpp, chosen by SelectorConfig::form) into a keep mask — none, oracle, TRM
// (top-R) or PRISM (sTRM, top-R smoothed by a window of thresholds), with warm-up and statistics; and the kNN
// rule, which needs no clean probability and no noise rate. Reference code: P_clean and the kNN similarities
// are computed on the device, the ranking on the host. Walkthrough: docs/prism.md.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "prism/core/tensor.hpp"
#include "prism/dml/clean_probability.hpp"
#include "prism/dml/memory_bank.hpp"
#include "prism/dml/state.hpp"

namespace prism::dml {

// ---- selection ---------------------------------------------------------------------------------------------
enum class SelectMethod { none, oracle, trm, prism, knn };
const char* select_method_name(SelectMethod m);
SelectMethod parse_select_method(const std::string& s);  // "none" | "oracle" | "trm" | "prism" | "knn"

struct SelectorConfig {
  SelectMethod method = SelectMethod::prism;
  double noise_rate = 0.5;  // R: r = floor(R · n) candidates per batch
  int64_t window = 30;      // τ: thresholds kept by sTRM
  int64_t warmup = 0;       // W: iterations < W keep everything
  CleanForm form = CleanForm::center;
  int64_t knn_k = 10;      // kNN rule: neighbours per sample
  double knn_alpha = 0.5;  // kNN rule: removed when s_{y_i} / max_c s_c < α
};

// The kNN score of every batch sample (DESIGN §4.4): among its k nearest memory rows by cosine (all rows when
// the memory holds fewer than k), s_c = the share of class c; score(i) = s_{y_i} / max_c s_c ∈ [0, 1], and 1
// when class y_i has no memory rows at all (as AvgSim's P_clean = 1, so a new class can enter the memory). The
// similarities f_i · v_j are one backend GEMM (the rows are unit vectors, so the dot product is the cosine);
// the top-k is taken on the host by (similarity descending, memory slot ascending) — a tie at the k-th place
// goes to the lower slot; a NaN similarity ranks last.
std::vector<float> knn_scores(const Tensor& emb, const std::vector<int32_t>& labels, const MemoryBank& bank,
                              int64_t k);

struct SelectionStats {
  int64_t batch = 0, kept = 0;
  double kept_ratio = 0;
  // Only with noise flags (NaN otherwise): precision = clean share of the kept samples; recall = share of the
  // noisy samples that were removed (NaN when the batch has no noisy sample).
  int64_t noisy = -1, noisy_removed = -1, clean_kept = -1;
  double precision = 0, recall = 0;
};

struct Selection {
  std::vector<uint8_t> keep;   // [n], 1 = kept
  std::vector<float> p_clean;  // [n] when computed (trm, prism with a non-empty memory; knn: the kNN score;
                               // ln P_clean for a log-scale form), else empty
  std::vector<int64_t>
      candidates;  // the r lowest P_clean, ascending by (P_clean, index); NaN counts as lowest
  int64_t r = 0;
  double threshold;       // the threshold applied (NaN when none; knn: α)
  bool selected = false;  // false: everything kept without ranking (none, warm-up, r = 0, empty memory)
  bool window_appended = false;  // q entered the window
  bool fallback = false;         // threshold kept nobody: the r candidates were removed, the window cut
  SelectionStats stats;
};

// Statistics of a keep mask against optional noise flags (1 = noisy).
SelectionStats selection_stats(const std::vector<uint8_t>& keep, const std::vector<uint8_t>* noise_flags);

class Selector {
 public:
  explicit Selector(SelectorConfig cfg);
  const SelectorConfig& config() const { return cfg_; }

  // One iteration: P_clean of the batch (emb [n, d], labels) against the bank (read before this batch is
  // added), then the method's rule. noise_flags (1 = noisy) are required by oracle and give the statistics
  // otherwise.
  Selection select(int64_t iteration, const Tensor& emb, const std::vector<int32_t>& labels, MemoryBank* bank,
                   const std::vector<uint8_t>* noise_flags = nullptr);

  // The ranking rule alone on given probabilities (trm or prism; updates the window for prism). Steps of
  // DESIGN §4.4.
  Selection select_from_probabilities(const std::vector<float>& p_clean,
                                      const std::vector<uint8_t>* noise_flags = nullptr);
  // The kNN rule alone on given scores (method knn): keep score ≥ α.
  Selection select_from_knn_scores(const std::vector<float>& scores,
                                   const std::vector<uint8_t>* noise_flags = nullptr) const;

  const std::deque<float>& window() const { return window_; }
  void set_window(std::deque<float> w);
  double window_mean() const;  // NaN when empty

  // "<prefix>window" f32 [len] (oldest first), integer "<prefix>window_size".
  void save_state(StateDict& state, const std::string& prefix = "selector.") const;
  void load_state(const StateDict& state, const std::string& prefix = "selector.");

  // Everything kept, nothing ranked, with the statistics (iterations before the memory starts).
  Selection keep_all(int64_t n, const std::vector<uint8_t>* noise_flags = nullptr) const;

 private:
  SelectorConfig cfg_;
  std::deque<float> window_;
};

}  // namespace prism::dml
