// PRISM instance selection (DESIGN §4.4): the selector that turns the clean probability of each batch sample
// (a form of clean_probability.hpp, chosen by SelectorConfig::form) into a keep mask — none, oracle, TRM
// (top-R) or PRISM (sTRM, top-R smoothed by a window of thresholds), with warm-up and statistics. Reference
// code: P_clean is computed on the device, the ranking on the host. Walkthrough: docs/prism.md.
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
enum class SelectMethod { none, oracle, trm, prism };
const char* select_method_name(SelectMethod m);
SelectMethod parse_select_method(const std::string& s);  // "none" | "oracle" | "trm" | "prism"

struct SelectorConfig {
  SelectMethod method = SelectMethod::prism;
  double noise_rate = 0.5;  // R: r = floor(R · n) candidates per batch
  int64_t window = 30;      // τ: thresholds kept by sTRM
  int64_t warmup = 0;       // W: iterations < W keep everything
  CleanForm form = CleanForm::center;
};

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
  std::vector<float> p_clean;  // [n] when computed (trm, prism with a non-empty memory), else empty
  std::vector<int64_t>
      candidates;  // the r lowest P_clean, ascending by (P_clean, index); NaN counts as lowest
  int64_t r = 0;
  double threshold;       // the threshold applied (NaN when none)
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
