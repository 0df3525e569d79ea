// `prism audit`'s scorers, detection metrics and the audit of a run directory (reference code; see
// audit.hpp). The neighbour search is one GEMM per block of rows (the backend's matmul, chain order in exact
// mode) and a per-row heap by (similarity desc, index asc), so the result is the same for any thread count.
#include "prism/train/audit.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "prism/core/autograd.hpp"
#include "prism/core/io.hpp"
#include "prism/core/ops.hpp"
#include "prism/data/npy.hpp"
#include "prism/train/audit_report.hpp"
#include "prism/train/config.hpp"
#include "prism/train/data_setup.hpp"
#include "prism/train/run.hpp"

namespace prism {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kSimilarityBlockBytes = int64_t(64) << 20;  // one block of the [rows, N] similarity matrix

void check_inputs(const Tensor& emb, const std::vector<int32_t>& labels, int32_t num_classes) {
  if (emb.dim() != 2) throw Error("audit: embeddings must be [N, d], got " + emb.describe());
  if (emb.size(0) != static_cast<int64_t>(labels.size()))
    throw Error("audit: " + std::to_string(emb.size(0)) + " embeddings for " + std::to_string(labels.size()) +
                " labels");
  for (int32_t y : labels)
    if (y < 0 || y >= num_classes)
      throw Error("audit: label " + std::to_string(y) + " outside [0, " + std::to_string(num_classes) + ")");
}

// Neighbours and their similarities, [N · k] each.
void neighbours_with_similarities(const Tensor& emb, int64_t k, std::vector<int64_t>* idx,
                                  std::vector<float>* sims) {
  NoGradGuard no_grad;
  const int64_t n = emb.size(0);
  k = std::clamp<int64_t>(k, 0, std::max<int64_t>(n - 1, 0));
  idx->assign(static_cast<size_t>(n * k), 0);
  if (sims) sims->assign(static_cast<size_t>(n * k), 0.0f);
  if (k == 0) return;
  const int64_t block = std::clamp<int64_t>(kSimilarityBlockBytes / std::max<int64_t>(1, n * 4), 1, n);
  std::vector<float> host;
  for (int64_t r0 = 0; r0 < n; r0 += block) {
    const int64_t b = std::min(block, n - r0);
    const Tensor sim_block = matmul(emb.rows(r0, r0 + b), emb, false, true);  // [b, N]
    const float* sim = nullptr;
    if (sim_block.device() == DeviceType::cpu) {
      sim = sim_block.data_f32();
    } else {
      host = sim_block.to_vector();
      sim = host.data();
    }
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, b, 16), [&](const tbb::blocked_range<int64_t>& range) {
      std::vector<int64_t> top;
      for (int64_t t = range.begin(); t < range.end(); ++t) {
        const int64_t i = r0 + t;
        const float* s = sim + t * n;
        for (int64_t j = 0; j < n; ++j)
          if (s[j] != s[j])
            throw Error("audit: NaN similarity (non-finite embeddings) at row " + std::to_string(i));
        // A heap whose top is the worst kept item; indices arrive in increasing order, so a newcomer beats
        // the top only with a strictly larger similarity (ties keep the smaller index).
        const auto better = [s](int64_t a, int64_t c) { return s[a] > s[c] || (s[a] == s[c] && a < c); };
        top.clear();
        for (int64_t j = 0; j < n; ++j) {
          if (j == i) continue;
          if (static_cast<int64_t>(top.size()) < k) {
            top.push_back(j);
            std::push_heap(top.begin(), top.end(), better);
          } else if (s[j] > s[top.front()]) {
            std::pop_heap(top.begin(), top.end(), better);
            top.back() = j;
            std::push_heap(top.begin(), top.end(), better);
          }
        }
        std::sort(top.begin(), top.end(), better);
        for (int64_t m = 0; m < k; ++m) {
          (*idx)[static_cast<size_t>(i * k + m)] = top[m];
          if (sims) (*sims)[static_cast<size_t>(i * k + m)] = s[top[m]];
        }
      }
    });
  }
}

// Sample i's raw vote from its per-class shares p[c]: score = support = p[given], suggested = argmax (the
// given label when it ties the best, else the smallest best class), best_other = the argmax over the others.
void score_from_shares(const std::vector<double>& p, int32_t given, int64_t i, LabelScores& out) {
  int32_t best = given, other = -1;
  for (int32_t c = 0; c < static_cast<int32_t>(p.size()); ++c) {
    if (p[c] > p[best]) best = c;
    if (c != given && p[c] > 0 && (other < 0 || p[c] > p[other])) other = c;
  }
  out.score[i] = out.support[i] = static_cast<float>(std::clamp(p[given], 0.0, 1.0));
  out.suggested[i] = best;
  out.flagged[i] = best != given;
  out.best_other[i] = other;
}

// Weights exp((s − s_nearest) / T) of every neighbour, [N · k]: relative to each row's nearest neighbour, so
// nothing overflows.
std::vector<float> vote_weights(const std::vector<float>& sims, int64_t n, int64_t k, double temperature) {
  std::vector<float> w(sims.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t m = 0; m < k; ++m)
      w[i * k + m] = static_cast<float>(std::exp((sims[i * k + m] - sims[i * k]) / temperature));
  return w;
}

// Adds `w` to class c's entry of a sparse tally (C may be in the thousands; a tally has at most k² entries).
void add_vote(std::vector<std::pair<int32_t, double>>& votes, int32_t c, double w) {
  auto it = std::find_if(votes.begin(), votes.end(), [c](const auto& v) { return v.first == c; });
  if (it == votes.end())
    votes.emplace_back(c, w);
  else
    it->second += w;
}

// Score, suggestion and flag of sample i from its sparse tally: score = support = own / total, suggested =
// the best class (the given one when it ties the best, else the smallest best class), flagged = suggested !=
// given, best_other = the best class but the given one. That is the raw vote; the scorers then apply
// flag_weak_labels.
void finish_from_votes(const std::vector<std::pair<int32_t, double>>& votes, double total, int32_t given,
                       int64_t i, LabelScores& out) {
  if (!(total > 0)) {  // no neighbours: nothing speaks against the label
    out.score[i] = out.support[i] = 1;
    out.suggested[i] = given;
    out.flagged[i] = 0;
    out.best_other[i] = -1;
    return;
  }
  double own = 0, best = -1, best_other = -1;
  int32_t best_class = given, other_class = -1;
  for (const auto& [c, w] : votes) {
    if (c == given) own = w;
    if (w > best || (w == best && c < best_class)) best = w, best_class = c;
    if (c != given && w > 0 && (w > best_other || (w == best_other && c < other_class)))
      best_other = w, other_class = c;
  }
  if (own >= best) best_class = given;
  out.score[i] = out.support[i] = static_cast<float>(std::clamp(own / total, 0.0, 1.0));
  out.suggested[i] = best_class;
  out.flagged[i] = best_class != given;
  out.best_other[i] = other_class;
}

// The k nearest neighbours every kNN scorer votes over (k capped at N − 1), with their weights when the
// scorer weights its votes (softmax over similarity / temperature); the inputs checked once here.
struct Neighbourhood {
  int64_t n = 0, k = 0;
  std::vector<int64_t> idx;  // [n · k]
  std::vector<float> w;      // [n · k], empty for the unweighted vote
};

Neighbourhood neighbourhood(const Tensor& emb, const std::vector<int32_t>& labels, int32_t num_classes,
                            const AuditOptions& o, bool weighted) {
  check_inputs(emb, labels, num_classes);
  if (weighted && !(o.temperature > 0)) throw Error("audit: --temperature must be > 0");
  Neighbourhood nb;
  nb.n = emb.size(0);
  nb.k = std::clamp<int64_t>(o.k, 0, std::max<int64_t>(nb.n - 1, 0));
  std::vector<float> sims;
  neighbours_with_similarities(emb, nb.k, &nb.idx, weighted ? &sims : nullptr);
  if (weighted) nb.w = vote_weights(sims, nb.n, nb.k, o.temperature);
  return nb;
}

LabelScores score_knn(const Tensor& emb, const std::vector<int32_t>& labels, int32_t num_classes,
                      const AuditOptions& o) {
  const Neighbourhood nb = neighbourhood(emb, labels, num_classes, o, false);
  LabelScores out = scores_from_votes(labels, num_classes, nb.idx, nb.k);
  flag_weak_labels(out, labels, num_classes, o.flag_ratio);
  return out;
}

LabelScores score_knn_weighted(const Tensor& emb, const std::vector<int32_t>& labels, int32_t num_classes,
                               const AuditOptions& o) {
  const Neighbourhood nb = neighbourhood(emb, labels, num_classes, o, true);
  LabelScores out = scores_from_votes(labels, num_classes, nb.idx, nb.k, nb.w);
  flag_weak_labels(out, labels, num_classes, o.flag_ratio);
  return out;
}

// knn-propagated: one step of label propagation before the vote. Under heavy noise a neighbour's own label
// is wrong as often as it is right; its neighbourhood's weighted shares are a far less noisy guess of its
// class. So sample i's score is the given label's share of Σ_j w_ij · p_j^{−i} / Σ_j w_ij, where p_j^{−i} are
// neighbour j's weighted shares with i's own vote taken out (else a wrong label would vote for itself through
// its neighbours).
LabelScores score_knn_propagated(const Tensor& emb, const std::vector<int32_t>& labels, int32_t num_classes,
                                 const AuditOptions& o) {
  const Neighbourhood nb = neighbourhood(emb, labels, num_classes, o, true);
  const int64_t n = nb.n, k = nb.k;
  const std::vector<int64_t>& idx = nb.idx;
  const std::vector<float>& w = nb.w;
  // First pass: every sample's raw tally of its neighbours' given labels and its total weight.
  std::vector<std::vector<std::pair<int32_t, double>>> tally(static_cast<size_t>(n));
  std::vector<double> total(static_cast<size_t>(n), 0.0);
  tbb::parallel_for(int64_t(0), n, [&](int64_t j) {
    for (int64_t m = 0; m < k; ++m) {
      add_vote(tally[j], labels[idx[j * k + m]], w[j * k + m]);
      total[j] += w[j * k + m];
    }
  });
  // Support, suggestion and flag stay those of the direct weighted vote (measured: the propagated vote ranks
  // better at 50% symmetric noise but flags more clean samples, docs/audit.md); only the score is propagated.
  LabelScores out = scores_from_votes(labels, num_classes, idx, k, w);
  LabelScores propagated(n);
  tbb::parallel_for(int64_t(0), n, [&](int64_t i) {
    std::vector<std::pair<int32_t, double>> votes;
    double weight_sum = 0;
    for (int64_t m = 0; m < k; ++m) {
      const int64_t j = idx[i * k + m];
      double back = 0;  // i's own vote in j's tally, if i is one of j's neighbours
      for (int64_t t = 0; t < k; ++t)
        if (idx[j * k + t] == i) back = w[j * k + t];
      const double rest = total[j] - back;
      if (!(rest > 0)) continue;  // j's only voter was i: it says nothing independent of i's label
      const double wij = w[i * k + m];
      weight_sum += wij;
      for (const auto& [c, v] : tally[j])
        add_vote(votes, c, wij * (v - (c == labels[i] ? back : 0.0)) / rest);
    }
    finish_from_votes(votes, weight_sum, labels[i], i, propagated);
  });
  out.score = std::move(propagated.score);
  flag_weak_labels(out, labels, num_classes, o.flag_ratio);
  return out;
}

LabelScores score_center(const Tensor& emb_in, const std::vector<int32_t>& labels, int32_t num_classes,
                         const AuditOptions& o) {
  check_inputs(emb_in, labels, num_classes);
  if (!(o.temperature > 0)) throw Error("audit: --temperature must be > 0");
  const std::vector<float> emb = emb_in.to_vector();
  const int64_t n = emb_in.size(0), d = emb_in.size(1);
  // Class means of the given labels, scaled to unit length (cosine to the center).
  std::vector<double> center(static_cast<size_t>(num_classes) * d, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < d; ++t) center[labels[i] * d + t] += emb[i * d + t];
  for (int32_t c = 0; c < num_classes; ++c) {
    double norm = 0;
    for (int64_t t = 0; t < d; ++t) norm += center[c * d + t] * center[c * d + t];
    norm = std::sqrt(norm);
    for (int64_t t = 0; t < d && norm > 0; ++t) center[c * d + t] /= norm;
  }
  LabelScores out(n);
  tbb::parallel_for(int64_t(0), n, [&](int64_t i) {
    std::vector<double> p(num_classes);
    double top = -INFINITY;
    for (int32_t c = 0; c < num_classes; ++c) {
      double s = 0;
      for (int64_t t = 0; t < d; ++t) s += emb[i * d + t] * center[c * d + t];
      p[c] = s / o.temperature;
      top = std::max(top, p[c]);
    }
    double z = 0;
    for (double& v : p) z += (v = std::exp(v - top));
    for (double& v : p) v /= z;
    score_from_shares(p, labels[i], i, out);
  });
  flag_weak_labels(out, labels, num_classes, o.flag_ratio);
  return out;
}

constexpr AuditScorerSpec kScorers[] = {
    {"knn", score_knn,
     "vote of the k nearest training embeddings (self excluded), one vote each: score = share of the given "
     "label"},
    {"knn-weighted", score_knn_weighted, "as knn, each vote weighted by exp((s - s_nearest) / T)"},
    {"knn-propagated", score_knn_propagated,
     "score as knn-weighted, each neighbour voting with its own neighbours' weighted shares (the sample left "
     "out) instead of its given label; support and flag of knn-weighted"},
    {"center", score_center,
     "softmax over the cosine similarities to the class means of the given labels, temperature T"},
};

}  // namespace

// ---- neighbours and votes ----------------------------------------------------------------------------------

std::vector<int64_t> nearest_neighbours(const Tensor& emb, int64_t k) {
  if (emb.dim() != 2) throw Error("nearest_neighbours: embeddings must be [N, d], got " + emb.describe());
  std::vector<int64_t> idx;
  neighbours_with_similarities(emb, k, &idx, nullptr);
  return idx;
}

LabelScores scores_from_votes(const std::vector<int32_t>& labels, int32_t num_classes,
                              const std::vector<int64_t>& neighbours, int64_t k,
                              const std::vector<float>& weights) {
  const int64_t n = static_cast<int64_t>(labels.size());
  if (static_cast<int64_t>(neighbours.size()) != n * k)
    throw Error("scores_from_votes: " + std::to_string(neighbours.size()) + " neighbours for " +
                std::to_string(n) + " samples x k = " + std::to_string(k));
  if (!weights.empty() && weights.size() != neighbours.size())
    throw Error("scores_from_votes: weights and neighbours differ in size");
  LabelScores out(n);
  tbb::parallel_for(int64_t(0), n, [&](int64_t i) {
    // Sparse shares over the labels that occur among the neighbours (C may be in the thousands).
    std::vector<std::pair<int32_t, double>> votes;
    double total = 0;
    for (int64_t m = 0; m < k; ++m) {
      const int64_t j = neighbours[i * k + m];
      const int32_t c = labels.at(static_cast<size_t>(j));
      if (c < 0 || c >= num_classes) throw Error("scores_from_votes: label outside [0, C)");
      const double w = weights.empty() ? 1.0 : weights[i * k + m];
      total += w;
      add_vote(votes, c, w);
    }
    finish_from_votes(votes, total, labels[i], i, out);
  });
  return out;
}

void flag_weak_labels(LabelScores& s, const std::vector<int32_t>& labels, int32_t num_classes, double ratio) {
  const size_t n = labels.size();
  if (s.support.size() != n || s.best_other.size() != n || s.suggested.size() != n || s.flagged.size() != n)
    throw Error("flag_weak_labels: scores and labels differ in size");
  if (!(ratio >= 0) || !std::isfinite(ratio)) throw Error("audit: --flag-ratio must be a number >= 0");
  // Each class's mean support, summed in index order (the same on every thread count).
  std::vector<double> sum(static_cast<size_t>(num_classes), 0.0),
      count(static_cast<size_t>(num_classes), 0.0);
  for (size_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) throw Error("flag_weak_labels: label outside [0, C)");
    sum[labels[i]] += s.support[i];
    count[labels[i]] += 1;
  }
  for (size_t i = 0; i < n; ++i) {
    const double mean = sum[labels[i]] / count[labels[i]];
    s.flagged[i] = s.best_other[i] >= 0 && s.support[i] < ratio * mean;
    s.suggested[i] = s.flagged[i] ? s.best_other[i] : labels[i];
  }
}

// ---- the scorer table --------------------------------------------------------------------------------------

std::span<const AuditScorerSpec> audit_scorers() {
  return kScorers;
}

const AuditScorerSpec& audit_scorer(const std::string& name) {
  for (const AuditScorerSpec& s : kScorers)
    if (name == s.name) return s;
  std::string names;
  for (const AuditScorerSpec& s : kScorers) names += std::string(names.empty() ? "" : ", ") + s.name;
  throw Error("audit: unknown scorer '" + name + "' (scorers: " + names + ")");
}

std::vector<std::string> audit_scorer_names() {
  std::vector<std::string> v;
  for (const AuditScorerSpec& s : kScorers) v.emplace_back(s.name);
  return v;
}

// ---- metrics -----------------------------------------------------------------------------------------------

std::vector<int64_t> audit_order(const std::vector<float>& score) {
  std::vector<int64_t> order(score.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return score[a] < score[b]; });
  return order;
}

double detection_auroc(const std::vector<float>& score, const std::vector<uint8_t>& noisy) {
  if (score.size() != noisy.size()) throw Error("detection_auroc: scores and flags differ in size");
  const std::vector<int64_t> order = audit_order(score);
  // Mid-ranks of the scores in descending "suspicion" (ascending score): rank sum of the noisy samples.
  const int64_t n = static_cast<int64_t>(score.size());
  int64_t positives = 0;
  double rank_sum = 0;
  for (int64_t a = 0; a < n;) {
    int64_t b = a;
    while (b < n && score[order[b]] == score[order[a]]) ++b;
    const double mid = 0.5 * static_cast<double>(a + 1 + b);  // mean of ranks a+1 .. b
    for (int64_t t = a; t < b; ++t)
      if (noisy[order[t]]) {
        ++positives;
        rank_sum += mid;
      }
    a = b;
  }
  const int64_t negatives = n - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  // Noisy samples should have the smallest ranks (low scores): AUROC = P(noisy ranked before clean).
  const double u = rank_sum - 0.5 * static_cast<double>(positives) * static_cast<double>(positives + 1);
  return 1.0 - u / (static_cast<double>(positives) * static_cast<double>(negatives));
}

double precision_at_k(const std::vector<int64_t>& order, const std::vector<uint8_t>& noisy, int64_t k) {
  k = std::min<int64_t>(k, static_cast<int64_t>(order.size()));
  if (k <= 0) return kNaN;
  int64_t hits = 0;
  for (int64_t t = 0; t < k; ++t) hits += noisy.at(static_cast<size_t>(order[t])) ? 1 : 0;
  return static_cast<double>(hits) / static_cast<double>(k);
}

DetectionMetrics detection_metrics(const LabelScores& s, const std::vector<uint8_t>& noisy) {
  const int64_t n = static_cast<int64_t>(noisy.size());
  if (static_cast<int64_t>(s.score.size()) != n || static_cast<int64_t>(s.flagged.size()) != n)
    throw Error("detection_metrics: scores and noise flags differ in size");
  DetectionMetrics m;
  for (int64_t i = 0; i < n; ++i) {
    m.noisy += noisy[i] ? 1 : 0;
    m.flagged += s.flagged[i] ? 1 : 0;
    m.true_positives += noisy[i] && s.flagged[i] ? 1 : 0;
  }
  m.auroc = detection_auroc(s.score, noisy);
  m.precision = m.flagged > 0 ? static_cast<double>(m.true_positives) / static_cast<double>(m.flagged) : kNaN;
  m.recall = m.noisy > 0 ? static_cast<double>(m.true_positives) / static_cast<double>(m.noisy) : kNaN;
  m.f1 = m.true_positives > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall)
                              : (m.noisy > 0 && m.flagged > 0 ? 0.0 : kNaN);
  const std::vector<int64_t> order = audit_order(s.score);
  std::vector<int64_t> ks;
  for (int64_t k : {int64_t(10), int64_t(100), int64_t(1000)})
    if (k <= n) ks.push_back(k);
  if (m.noisy > 0 && std::find(ks.begin(), ks.end(), m.noisy) == ks.end()) ks.push_back(m.noisy);
  for (int64_t k : ks) m.precision_at.emplace_back(k, precision_at_k(order, noisy, k));
  return m;
}

// ---- the audit of a run directory --------------------------------------------------------------------------

std::string audit_error_text(const std::string& what) {
  const std::string hint = " (set DATA.MISSING_IMAGES: skip to drop such entries)";
  const size_t at = what.find(hint);
  if (at == std::string::npos) return what;
  return what.substr(0, at) +
         " (prism audit scores every entry of the list: restore the image or remove its line)" +
         what.substr(at + hint.size());
}

AuditSummary audit_run(const AuditRunOptions& o) {
  const std::string& dir = o.run_dir;
  const std::string config_path = dir + "/config.yaml", checkpoint_path = dir + "/checkpoint.safetensors",
                    cache_path = dir + "/train_embeddings.npy";
  if (!fs::is_directory(dir)) throw Error("--run " + dir + ": no such directory");
  if (!fs::exists(config_path))
    throw Error("--run " + dir + ": no config.yaml there (is it a prism run directory?)");
  const bool has_checkpoint = fs::exists(checkpoint_path), has_cache = fs::exists(cache_path);
  if (!has_checkpoint && !has_cache)
    throw Error(
        "--run " + dir +
        ": neither checkpoint.safetensors nor train_embeddings.npy there, so there is no model to embed "
        "the training set with (train it first: prism train --out " +
        dir + ")");
  std::vector<std::string> overrides{"DATA.MISSING_IMAGES=error"};
  if (!o.device.empty()) overrides.push_back("RUN.DEVICE=" + o.device);
  if (!o.mode.empty()) overrides.push_back("RUN.MODE=" + o.mode);
  if (o.threads >= 0) overrides.push_back("RUN.THREADS=" + std::to_string(o.threads));
  const Config cfg = load_config(config_path, overrides);
  validate_config(cfg);
  set_mode(parse_mode(cfg.run.mode));
  set_num_threads(static_cast<int>(cfg.run.threads));
  const DeviceType device = parse_device(cfg.run.device);
  backend(device);
  const AuditScorerSpec& scorer = audit_scorer(o.scoring.scorer);  // a bad --scorer before the data is read

  DataSetup data;
  try {
    data = open_datasets(cfg);
  } catch (const Error& e) {
    throw Error(audit_error_text(e.what()));
  }
  const Dataset& train = *data.train;
  const int64_t n = train.size();
  Tensor emb;
  int64_t iteration = -1;
  if (has_cache) {
    NpyMatrix m = read_npy_f32_matrix(cache_path);
    if (m.rows != n)
      throw Error(cache_path + ": " + std::to_string(m.rows) + " rows, but the run's training set has " +
                  std::to_string(n) + " samples (delete the file to embed the set again)");
    emb = Tensor::from_vector({m.rows, m.cols}, m.values);
    std::fprintf(stderr, "prism: audit: training-set embeddings from %s\n", cache_path.c_str());
  } else {
    TrainingRun run(cfg, data.train, device);
    run.load_checkpoint(checkpoint_path);
    iteration = run.iteration();
    std::fprintf(stderr, "prism: audit: embedding %s with the model of iteration %lld\n",
                 train.describe().c_str(), static_cast<long long>(iteration));
    emb = embed_dataset(run.model(), train, cfg.data.test_batchsize, static_cast<uint64_t>(cfg.seed), device);
    if (iteration == cfg.solver.max_iters)
      write_npy_f32(cache_path, emb.shape(), emb.to_vector());  // a finished run's model no longer changes
    else
      std::fprintf(stderr,
                   "prism: audit: warning: the run stopped at iteration %lld of %lld; auditing that model "
                   "(finish it with prism train --resume %s)\n",
                   static_cast<long long>(iteration), static_cast<long long>(cfg.solver.max_iters),
                   dir.c_str());
  }

  const LabelScores scores = scorer.score(emb.to(device), train.labels(), train.num_classes(), o.scoring);
  AuditSummary s;
  s.samples = n;
  for (uint8_t f : scores.flagged) s.flagged += f;
  s.estimated_noise_rate = n > 0 ? static_cast<double>(s.flagged) / static_cast<double>(n) : 0;
  s.has_noise_flags = train.has_noise_flags();
  if (s.has_noise_flags) s.metrics = detection_metrics(scores, train.noise_flags());
  s.out_dir = dir;

  AuditReportInput r;
  r.train = &train;
  r.scores = &scores;
  r.summary = &s;
  r.scoring = o.scoring;
  r.scorer_summary = scorer.summary;
  r.title = cfg.name.empty() ? fs::path(dir).filename().string() : cfg.name;
  r.run_dir = dir;
  r.iteration = iteration;
  // Small-cluster noise re-indexes the surviving classes, so the original values are known only without it.
  if (cfg.noise.type != "small-cluster") r.label_values = data.train_classes;
  if (cfg.data.dataset == "fashion-mnist") r.class_names = fashion_mnist_class_names();
  r.show = o.show;
  write_audit_outputs(dir, r);
  return s;
}

}  // namespace prism
