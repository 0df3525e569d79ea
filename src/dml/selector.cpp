// The selection rules of DESIGN §4.4 on the host: none, oracle, TRM and PRISM's sTRM window, with warm-up, r =
// 0, NaN guarding and the statistics; and the kNN rule (its similarities by the backend GEMM). Reference code;
// every branch is walked through in docs/prism.md.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
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
    case SelectMethod::knn:
      return "knn";
  }
  return "?";
}

SelectMethod parse_select_method(const std::string& s) {
  if (s == "none") return SelectMethod::none;
  if (s == "oracle") return SelectMethod::oracle;
  if (s == "trm") return SelectMethod::trm;
  if (s == "prism") return SelectMethod::prism;
  if (s == "knn") return SelectMethod::knn;
  throw Error("unknown selection method '" + s + "' (expected none, oracle, trm, prism or knn)");
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
  if (cfg_.knn_k < 1) throw Error("Selector: kNN k must be >= 1, got " + std::to_string(cfg_.knn_k));
  if (!(cfg_.knn_alpha >= 0.0 && cfg_.knn_alpha <= 1.0))
    throw Error("Selector: kNN alpha must be in [0, 1], got " + std::to_string(cfg_.knn_alpha));
}

std::vector<float> knn_scores(const Tensor& emb, const std::vector<int32_t>& labels, const MemoryBank& bank,
                              int64_t k) {
  const int64_t n = static_cast<int64_t>(labels.size()), K = bank.size(), C = bank.num_classes();
  if (k < 1) throw Error("knn_scores: k must be >= 1, got " + std::to_string(k));
  if (!emb.defined() || emb.dim() != 2 || emb.size(0) != n || emb.size(1) != bank.dim())
    throw Error("knn_scores: " + std::to_string(n) + " labels need embeddings [" + std::to_string(n) + ", " +
                std::to_string(bank.dim()) + "], got " + emb.describe());
  for (int64_t i = 0; i < n; ++i)
    if (labels[i] < 0 || labels[i] >= C)
      throw Error("knn_scores: label " + std::to_string(labels[i]) + " of sample " + std::to_string(i) +
                  " is outside [0, " + std::to_string(C) + ")");
  if (n == 0) return {};
  if (K == 0) return std::vector<float>(n, 1.0f);
  NoGradGuard no_grad;
  const std::vector<float> sim = matmul(emb.detach(), bank.embeddings(), false, true).to_vector();  // [n, K]
  const std::vector<int32_t> slot_label = bank.labels();
  const int64_t kk = std::min(k, K);
  std::vector<float> score(n);
  std::vector<int32_t> slots(K);
  std::vector<int64_t> votes(C);
  for (int64_t i = 0; i < n; ++i) {
    const float* s = sim.data() + i * K;
    std::iota(slots.begin(), slots.end(), 0);
    std::partial_sort(slots.begin(), slots.begin() + kk, slots.end(), [&](int32_t a, int32_t b) {
      const bool na = std::isnan(s[a]), nb = std::isnan(s[b]);
      if (na != nb) return nb;  // NaN last
      if (!na && s[a] != s[b]) return s[a] > s[b];
      return a < b;
    });
    std::fill(votes.begin(), votes.end(), 0);
    for (int64_t t = 0; t < kk; ++t) ++votes[slot_label[slots[t]]];
    const int64_t most = *std::max_element(votes.begin(), votes.end());  // ≥ 1
    // A class without memory rows scores 1, as AvgSim gives it P_clean = 1: with score 0 its samples would
    // be removed, never enqueued, and the class would stay out of the memory for good.
    score[i] = bank.class_counts()[labels[i]] == 0
                   ? 1.0f
                   : static_cast<float>(static_cast<double>(votes[labels[i]]) / static_cast<double>(most));
  }
  return score;
}

Selection Selector::select_from_knn_scores(const std::vector<float>& scores,
                                           const std::vector<uint8_t>* flags) const {
  if (cfg_.method != SelectMethod::knn)
    throw Error(std::string("Selector: the kNN rule needs method knn, not ") +
                select_method_name(cfg_.method));
  Selection s;
  s.p_clean = scores;
  s.keep.resize(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) s.keep[i] = static_cast<double>(scores[i]) >= cfg_.knn_alpha;
  s.threshold = cfg_.knn_alpha;
  s.selected = true;
  s.stats = selection_stats(s.keep, flags);
  return s;
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
  // The value of a certainly clean sample: 1, or 0 for a form whose values are ln P_clean.
  const float certain = clean_form_spec(cfg_.form).log_scale ? 0.0f : 1.0f;
  const auto remove_candidates = [&] {
    s.keep.assign(n, 1);
    for (int64_t i : s.candidates) s.keep[i] = 0;
  };

  if (cfg_.method == SelectMethod::trm) {
    remove_candidates();
    s.threshold = q;
  } else {
    if (!std::isnan(q) && q != certain) {
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
  if (cfg_.method == SelectMethod::knn)
    return select_from_knn_scores(knn_scores(emb, labels, *bank, cfg_.knn_k), flags);
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
