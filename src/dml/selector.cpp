// The selection rules of DESIGN §4.4 on the host: none, oracle, TRM and PRISM's sTRM window, with warm-up, r =
// 0, NaN guarding and the statistics. Reference code; every branch is walked through in docs/prism.md.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "prism/core/runtime.hpp"
#include "prism/dml/selector.hpp"

namespace prism::dml {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

const char* select_method_name(SelectMethod m) {
  switch (m) {
    case SelectMethod::none:
      return "none";
    case SelectMethod::oracle:
      return "oracle";
    case SelectMethod::trm:
      return "trm";
    case SelectMethod::prism:
      return "prism";
  }
  return "?";
}

SelectMethod parse_select_method(const std::string& s) {
  if (s == "none") return SelectMethod::none;
  if (s == "oracle") return SelectMethod::oracle;
  if (s == "trm") return SelectMethod::trm;
  if (s == "prism") return SelectMethod::prism;
  throw Error("unknown selection method '" + s + "' (expected none, oracle, trm or prism)");
}

SelectionStats selection_stats(const std::vector<uint8_t>& keep, const std::vector<uint8_t>* flags) {
  SelectionStats s;
  s.batch = static_cast<int64_t>(keep.size());
  for (uint8_t k : keep) s.kept += k != 0;
  s.kept_ratio = s.batch ? static_cast<double>(s.kept) / static_cast<double>(s.batch) : kNaN;
  s.precision = s.recall = kNaN;
  if (!flags) return s;
  if (flags->size() != keep.size())
    throw Error("selection_stats: " + std::to_string(flags->size()) + " noise flags for a batch of " +
                std::to_string(keep.size()));
  s.noisy = s.noisy_removed = s.clean_kept = 0;
  for (size_t i = 0; i < keep.size(); ++i) {
    const bool noisy = (*flags)[i] != 0, kept = keep[i] != 0;
    s.noisy += noisy;
    s.noisy_removed += noisy && !kept;
    s.clean_kept += !noisy && kept;
  }
  if (s.kept) s.precision = static_cast<double>(s.clean_kept) / static_cast<double>(s.kept);
  if (s.noisy) s.recall = static_cast<double>(s.noisy_removed) / static_cast<double>(s.noisy);
  return s;
}

Selector::Selector(SelectorConfig cfg) : cfg_(cfg) {
  if (!(cfg_.noise_rate >= 0.0 && cfg_.noise_rate <= 1.0))
    throw Error("Selector: noise rate must be in [0, 1], got " + std::to_string(cfg_.noise_rate));
  if (cfg_.method == SelectMethod::prism && cfg_.window < 1)
    throw Error("Selector: the PRISM window size must be >= 1, got " + std::to_string(cfg_.window));
  if (cfg_.warmup < 0) throw Error("Selector: warm-up must be >= 0, got " + std::to_string(cfg_.warmup));
}

void Selector::set_window(std::deque<float> w) {
  window_ = std::move(w);
  while (static_cast<int64_t>(window_.size()) > std::max<int64_t>(cfg_.window, 1)) window_.pop_front();
}

double Selector::window_mean() const {
  if (window_.empty()) return kNaN;
  double sum = 0;  // oldest first, in double, as Python's sum() over the window list
  for (float v : window_) sum += v;
  return sum / static_cast<double>(window_.size());
}

Selection Selector::keep_all(int64_t n, const std::vector<uint8_t>* flags) const {
  Selection s;
  s.keep.assign(n, 1);
  s.threshold = kNaN;
  s.stats = selection_stats(s.keep, flags);
  return s;
}

Selection Selector::select_from_probabilities(const std::vector<float>& p,
                                              const std::vector<uint8_t>* flags) {
  if (cfg_.method != SelectMethod::trm && cfg_.method != SelectMethod::prism)
    throw Error(std::string("Selector: ranking by clean probability needs method trm or prism, not ") +
                select_method_name(cfg_.method));
  const int64_t n = static_cast<int64_t>(p.size());
  // floor(R · n) in double, as the official int(noise_rate * len(C)).
  const int64_t r =
      std::min<int64_t>(n, static_cast<int64_t>(std::floor(cfg_.noise_rate * static_cast<double>(n))));
  if (r == 0) {  // the official code indexes to_remove[-1] here and crashes; nothing to remove
    Selection s = keep_all(n, flags);
    s.p_clean = p;
    return s;
  }
  // Ascending by (P_clean, index); NaN first: a sample whose probability is undefined is the first to go.
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const bool na = std::isnan(p[a]), nb = std::isnan(p[b]);
    if (na || nb) return na && !nb;
    return p[a] < p[b];
  });
  Selection s;
  s.p_clean = p;
  s.r = r;
  s.selected = true;
  s.candidates.assign(order.begin(), order.begin() + r);
  // q = the largest P_clean among the candidates (NaN when any candidate is NaN, since NaN sorts first).
  const float q = std::isnan(p[order[0]]) ? std::numeric_limits<float>::quiet_NaN() : p[order[r - 1]];
  const auto remove_candidates = [&] {
    s.keep.assign(n, 1);
    for (int64_t i : s.candidates) s.keep[i] = 0;
  };

  if (cfg_.method == SelectMethod::trm) {
    remove_candidates();
    s.threshold = q;
  } else {
    if (!std::isnan(q) && q != 1.0f) {
      window_.push_back(q);
      while (static_cast<int64_t>(window_.size()) > cfg_.window) window_.pop_front();
      s.window_appended = true;
    }
    if (window_.empty()) {
      remove_candidates();
      s.threshold = q;
    } else {
      const double thr = window_mean();
      s.keep.assign(n, 0);
      int64_t kept = 0;
      for (int64_t i = 0; i < n; ++i) {
        s.keep[i] = static_cast<double>(p[i]) > thr;  // NaN > thr is false: removed
        kept += s.keep[i];
      }
      s.threshold = thr;
      if (kept == 0) {
        remove_candidates();
        window_.erase(window_.begin(), window_.end() - 1);
        s.fallback = true;
        s.threshold = q;
      }
    }
  }
  s.stats = selection_stats(s.keep, flags);
  return s;
}

Selection Selector::select(int64_t iteration, const Tensor& emb, const std::vector<int32_t>& labels,
                           MemoryBank* bank, const std::vector<uint8_t>* flags) {
  const int64_t n = static_cast<int64_t>(labels.size());
  if (emb.defined() && (emb.dim() != 2 || emb.size(0) != n))
    throw Error("Selector::select: " + std::to_string(n) + " labels for embeddings " + emb.describe());
  if (flags && static_cast<int64_t>(flags->size()) != n)
    throw Error("Selector::select: " + std::to_string(flags->size()) + " noise flags for a batch of " +
                std::to_string(n));
  if (cfg_.method == SelectMethod::none || iteration < cfg_.warmup) return keep_all(n, flags);
  if (cfg_.method == SelectMethod::oracle) {
    if (!flags) throw Error("Selector: method oracle needs the noise flags of the batch (known noise)");
    Selection s;
    s.keep.resize(n);
    for (int64_t i = 0; i < n; ++i) s.keep[i] = (*flags)[i] == 0;
    s.threshold = kNaN;
    s.selected = true;
    s.stats = selection_stats(s.keep, flags);
    return s;
  }
  // The official code returns "keep all" while the memory is empty; the ranking would be arbitrary (all P =
  // 1).
  if (!bank || bank->empty()) return keep_all(n, flags);
  return select_from_probabilities(clean_form_spec(cfg_.form).probability(emb, labels, *bank), flags);
}

void Selector::save_state(StateDict& state, const std::string& prefix) const {
  std::vector<float> w(window_.begin(), window_.end());
  state.tensors[prefix + "window"] = Tensor::from_vector({static_cast<int64_t>(w.size())}, w);
  state.ints[prefix + "window_size"] = cfg_.window;
}

void Selector::load_state(const StateDict& state, const std::string& prefix) {
  const Tensor& w = state.tensor(prefix + "window");
  if (w.dtype() != DType::f32 || w.dim() != 1)
    throw Error("Selector::load_state: " + prefix + "window must be f32 [len], got " + w.describe());
  const int64_t saved = state.integer(prefix + "window_size");
  if (saved != cfg_.window)
    throw Error("Selector::load_state: checkpoint window size " + std::to_string(saved) + ", selector has " +
                std::to_string(cfg_.window));
  const std::vector<float> v = w.to_vector();
  if (static_cast<int64_t>(v.size()) > std::max<int64_t>(cfg_.window, 1))
    throw Error("Selector::load_state: " + prefix + "window holds " + std::to_string(v.size()) +
                " values, more than the window size " + std::to_string(cfg_.window));
  window_.assign(v.begin(), v.end());
}

}  // namespace prism::dml
