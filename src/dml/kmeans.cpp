// Bisecting k-means (reference code): repeatedly split the largest cluster (ties: the one whose first row
// comes first) with a 2-means seeded by a Philox-drawn row and the row farthest from it, Lloyd iterations in
// double.
#include "prism/dml/kmeans.hpp"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "prism/core/runtime.hpp"

namespace prism::dml {

namespace {

double dist2(const float* x, const std::vector<double>& c) {
  double s = 0;
  for (size_t j = 0; j < c.size(); ++j) {
    const double d = static_cast<double>(x[j]) - c[j];
    s += d * d;
  }
  return s;
}

void mean_of(std::vector<double>& c, const float* features, int64_t dim, const std::vector<int64_t>& rows,
             const std::vector<int64_t>& members, const std::vector<uint8_t>& side, uint8_t which) {
  std::fill(c.begin(), c.end(), 0.0);
  int64_t count = 0;
  for (size_t t = 0; t < members.size(); ++t) {
    if (side[t] != which) continue;
    const float* x = features + rows[members[t]] * dim;
    for (int64_t j = 0; j < dim; ++j) c[j] += x[j];
    ++count;
  }
  for (auto& v : c) v /= static_cast<double>(count);
}

// Splits `members` (positions into rows, increasing) into two non-empty parts, each kept increasing.
std::pair<std::vector<int64_t>, std::vector<int64_t>> split_two(const float* features, int64_t dim,
                                                                const std::vector<int64_t>& rows,
                                                                const std::vector<int64_t>& members,
                                                                int max_iter, Rng rng) {
  const int64_t m = static_cast<int64_t>(members.size());
  const auto row = [&](int64_t t) { return features + rows[members[t]] * dim; };
  const int64_t a = rng.below(static_cast<uint32_t>(m));
  std::vector<double> ca(row(a), row(a) + dim), cb(dim);
  int64_t b = -1;
  double far = 0;
  for (int64_t t = 0; t < m; ++t) {
    const double d = dist2(row(t), ca);
    if (d > far) far = d, b = t;
  }
  std::vector<uint8_t> side(m, 0);
  if (b < 0) {  // every row is identical: halves by position
    for (int64_t t = m / 2; t < m; ++t) side[t] = 1;
  } else {
    cb.assign(row(b), row(b) + dim);
    for (int it = 0; it < std::max(1, max_iter); ++it) {
      std::vector<uint8_t> next(m);
      int64_t ones = 0;
      for (int64_t t = 0; t < m; ++t) {
        next[t] = dist2(row(t), cb) < dist2(row(t), ca);  // ties go to the first center
        ones += next[t];
      }
      if (ones == 0 || ones == m) break;  // a side would empty: keep the last assignment
      const bool changed = next != side || it == 0;
      side = std::move(next);
      if (!changed) break;
      mean_of(ca, features, dim, rows, members, side, 0);
      mean_of(cb, features, dim, rows, members, side, 1);
    }
    // The seeds themselves always separate (a is at distance 0 from ca, b strictly nearer cb on the first
    // pass).
    if (std::all_of(side.begin(), side.end(), [](uint8_t s) { return s == 0; })) side[b] = 1;
  }
  std::pair<std::vector<int64_t>, std::vector<int64_t>> out;
  for (int64_t t = 0; t < m; ++t) (side[t] ? out.second : out.first).push_back(members[t]);
  return out;
}

}  // namespace

std::vector<int32_t> bisecting_kmeans(const float* features, int64_t dim, const std::vector<int64_t>& rows,
                                      int64_t k, int max_iterations, Rng rng) {
  const int64_t n = static_cast<int64_t>(rows.size());
  if (n == 0) return {};
  if (dim < 1) throw Error("bisecting_kmeans: feature dimension must be >= 1, got " + std::to_string(dim));
  k = std::clamp<int64_t>(k, 1, n);
  std::vector<std::vector<int64_t>> clusters(1);
  for (int64_t t = 0; t < n; ++t) clusters[0].push_back(t);
  // Split order: largest first, ties by the cluster's first position.
  std::set<std::tuple<int64_t, int64_t, size_t>> queue;  // (−size, first position, cluster id)
  queue.insert({-n, 0, 0});
  uint64_t splits = 0;
  while (static_cast<int64_t>(clusters.size()) < k) {
    auto top = *queue.begin();
    queue.erase(queue.begin());
    const size_t id = std::get<2>(top);
    auto [left, right] = split_two(features, dim, rows, clusters[id], max_iterations, rng.fork(splits++));
    clusters[id] = std::move(left);
    clusters.push_back(std::move(right));
    for (size_t c : {id, clusters.size() - 1})
      queue.insert({-static_cast<int64_t>(clusters[c].size()), clusters[c].front(), c});
  }
  std::sort(clusters.begin(), clusters.end(),
            [](const auto& x, const auto& y) { return x.front() < y.front(); });
  std::vector<int32_t> ids(n);
  for (size_t c = 0; c < clusters.size(); ++c)
    for (int64_t t : clusters[c]) ids[t] = static_cast<int32_t>(c);
  return ids;
}

}  // namespace prism::dml
