// Symmetric and small-cluster label noise (reference code). Every random choice comes from the Philox noise
// stream forked per purpose (sample i, chosen class t), so the result depends only on the seed and the inputs
// — not on the thread count, although the chosen classes are clustered in parallel.
#include "prism/dml/noise.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>

#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/dml/kmeans.hpp"

namespace prism::dml {

namespace {

std::vector<int32_t> distinct_labels(const std::vector<int32_t>& labels, const char* fn) {
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0)
      throw Error(std::string(fn) + ": label " + std::to_string(labels[i]) + " of sample " +
                  std::to_string(i) + " is negative");
  std::vector<int32_t> d = labels;
  std::sort(d.begin(), d.end());
  d.erase(std::unique(d.begin(), d.end()), d.end());
  return d;
}

void check_rate(double rate, const char* fn) {
  if (!(rate >= 0.0 && rate <= 1.0))
    throw Error(std::string(fn) + ": noise rate must be in [0, 1], got " + std::to_string(rate));
}

void finish(NoiseResult& r) {
  r.num_noisy = 0;
  for (uint8_t f : r.noisy) r.num_noisy += f;
  r.rate = r.noisy.empty() ? 0.0 : static_cast<double>(r.num_noisy) / static_cast<double>(r.noisy.size());
  std::vector<int32_t> d = r.labels;
  std::sort(d.begin(), d.end());
  r.num_classes = std::unique(d.begin(), d.end()) - d.begin();
}

}  // namespace

NoiseResult symmetric_noise(const std::vector<int32_t>& labels, double rate, uint64_t seed) {
  check_rate(rate, "symmetric_noise");
  const std::vector<int32_t> classes = distinct_labels(labels, "symmetric_noise");
  const int64_t C = static_cast<int64_t>(classes.size());
  if (rate > 0 && C < 2)
    throw Error("symmetric_noise: needs at least 2 distinct labels to flip, got " + std::to_string(C));
  std::unordered_map<int32_t, int64_t> position;
  for (int64_t c = 0; c < C; ++c) position[classes[c]] = c;
  const Rng base(seed, RngStream::noise);
  NoiseResult r;
  r.labels = labels;
  r.noisy.assign(labels.size(), 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    Rng g = base.fork(i);
    if (!(static_cast<double>(g.uniform()) < rate)) continue;
    // Uniform over the other C − 1 labels: draw 0..C−2 and step over the sample's own position.
    int64_t j = g.below(static_cast<uint32_t>(C - 1));
    if (j >= position[labels[i]]) ++j;
    r.labels[i] = classes[j];
    r.noisy[i] = 1;
  }
  finish(r);
  return r;
}

NoiseResult small_cluster_noise(const std::vector<int32_t>& labels, const float* features, int64_t dim,
                                const SmallClusterOptions& opt) {
  check_rate(opt.rate, "small_cluster_noise");
  if (opt.cluster_size < 1)
    throw Error("small_cluster_noise: cluster size must be >= 1, got " + std::to_string(opt.cluster_size));
  if (!features || dim < 1) throw Error("small_cluster_noise: needs a feature matrix [N, dim >= 1]");
  const std::vector<int32_t> classes = distinct_labels(labels, "small_cluster_noise");
  const int64_t C = static_cast<int64_t>(classes.size());
  const int64_t m = std::llround(opt.rate * static_cast<double>(C));
  if (m >= C)
    throw Error("small_cluster_noise: rate " + std::to_string(opt.rate) + " would break up " +
                std::to_string(m) + " of " + std::to_string(C) +
                " classes; at least one class must stay clean");

  const Rng base(opt.seed, RngStream::noise);
  // The chosen classes: the first m positions of a Fisher–Yates shuffle of the class positions.
  std::vector<int64_t> pos(C);
  for (int64_t c = 0; c < C; ++c) pos[c] = c;
  Rng pick = base.fork(0);
  for (int64_t t = 0; t < m; ++t) std::swap(pos[t], pos[t + pick.below(static_cast<uint32_t>(C - t))]);
  std::vector<uint8_t> chosen(C, 0);
  for (int64_t t = 0; t < m; ++t) chosen[pos[t]] = 1;
  std::vector<int32_t> new_label(C, -1);  // clean classes → 0..C−m−1 in increasing original order
  std::vector<int32_t> clean;
  for (int64_t c = 0; c < C; ++c)
    if (!chosen[c]) {
      new_label[c] = static_cast<int32_t>(clean.size());
      clean.push_back(static_cast<int32_t>(c));
    }

  std::unordered_map<int32_t, int64_t> position;
  for (int64_t c = 0; c < C; ++c) position[classes[c]] = c;
  std::vector<std::vector<int64_t>> members(C);
  for (size_t i = 0; i < labels.size(); ++i) members[position[labels[i]]].push_back(static_cast<int64_t>(i));

  NoiseResult r;
  r.labels.assign(labels.size(), -1);
  r.noisy.assign(labels.size(), 0);
  for (int64_t c = 0; c < C; ++c)
    if (!chosen[c])
      for (int64_t i : members[c]) r.labels[i] = new_label[c];

  // Chosen classes in increasing class order, clustered in parallel (each with its own forked generators).
  std::vector<int64_t> chosen_list;
  for (int64_t c = 0; c < C; ++c)
    if (chosen[c]) chosen_list.push_back(c);
  std::vector<int64_t> clusters_made(chosen_list.size());
  tbb::parallel_for(size_t(0), chosen_list.size(), [&](size_t t) {
    const int64_t c = chosen_list[t];
    const std::vector<int64_t>& rows = members[c];
    const int64_t n = static_cast<int64_t>(rows.size());
    const int64_t k = (n + opt.cluster_size - 1) / opt.cluster_size;
    const std::vector<int32_t> ids = bisecting_kmeans(features, dim, rows, k, opt.max_iterations,
                                                      base.fork(1 + 2 * static_cast<uint64_t>(c)));
    const int64_t made = ids.empty() ? 0 : *std::max_element(ids.begin(), ids.end()) + 1;
    Rng relabel = base.fork(2 + 2 * static_cast<uint64_t>(c));
    std::vector<int32_t> target(made);
    for (auto& v : target) v = static_cast<int32_t>(relabel.below(static_cast<uint32_t>(clean.size())));
    for (int64_t s = 0; s < n; ++s) {
      r.labels[rows[s]] = target[ids[s]];
      r.noisy[rows[s]] = 1;
    }
    clusters_made[t] = made;
  });
  for (size_t t = 0; t < chosen_list.size(); ++t) {
    r.removed_classes.push_back(classes[chosen_list[t]]);
    r.num_clusters += clusters_made[t];
  }
  finish(r);
  return r;
}

}  // namespace prism::dml
