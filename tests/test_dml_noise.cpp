// Label-noise generators: symmetric (achieved rate within binomial bounds, uniform over the other classes,
// determinism), small-cluster (chosen classes vanish, labels contiguous from 0, clusters follow the features,
// rate), the cleaned-list twin, and bisecting k-means.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/list.hpp"
#include "prism/dml/kmeans.hpp"
#include "prism/dml/noise.hpp"

using namespace prism;
using namespace prism::dml;

namespace {
std::vector<int32_t> balanced_labels(int64_t n, int32_t classes, int32_t first = 0) {
  std::vector<int32_t> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = first + static_cast<int32_t>(i % classes);
  return y;
}
}  // namespace

TEST_CASE("symmetric noise: achieved rate within binomial bounds, flips go to other classes uniformly",
          "[dml]") {
  const double rate = GENERATE(0.1, 0.5);
  CAPTURE(rate);
  const int64_t N = 20000;
  const auto y = balanced_labels(N, 10, 1);  // labels 1..10 are kept as they are
  const NoiseResult r = symmetric_noise(y, rate, 3);
  const double sd = std::sqrt(N * rate * (1 - rate));
  CHECK(std::abs(double(r.num_noisy) - rate * N) < 5 * sd);
  CHECK(r.rate == Approx(double(r.num_noisy) / N));
  std::map<int32_t, int64_t> to;  // flips out of class 1, by target
  for (int64_t i = 0; i < N; ++i) {
    CAPTURE(i);
    REQUIRE((r.labels[i] != y[i]) == (r.noisy[i] == 1));
    REQUIRE(r.labels[i] >= 1);
    REQUIRE(r.labels[i] <= 10);
    if (r.noisy[i] && y[i] == 1) ++to[r.labels[i]];
  }
  CHECK(to.size() == 9);
  CHECK(to.count(1) == 0);
  // Each of the 9 targets gets ~1/9 of the class's flips (6 sd bounds).
  int64_t flips = 0;
  for (auto& [c, k] : to) flips += k;
  const double expect = flips / 9.0, tsd = std::sqrt(flips * (1.0 / 9) * (8.0 / 9));
  for (auto& [c, k] : to) {
    CAPTURE(c, k, expect);
    CHECK(std::abs(k - expect) < 6 * tsd);
  }
  CHECK(r.num_classes == 10);
}

TEST_CASE("symmetric noise: deterministic by seed, rate 0 and 1, bad input", "[dml]") {
  const auto y = balanced_labels(500, 4);
  CHECK(symmetric_noise(y, 0.3, 9).labels == symmetric_noise(y, 0.3, 9).labels);
  CHECK(symmetric_noise(y, 0.3, 9).labels != symmetric_noise(y, 0.3, 10).labels);
  CHECK(symmetric_noise(y, 0.0, 9).num_noisy == 0);
  CHECK(symmetric_noise(y, 1.0, 9).num_noisy == 500);
  CHECK_THROWS_WITH(symmetric_noise(y, 1.2, 0), Catch::Contains("noise rate"));
  CHECK_THROWS_WITH(symmetric_noise({1, 1, 1}, 0.2, 0), Catch::Contains("2 distinct labels"));
  CHECK_THROWS_WITH(symmetric_noise({0, -3}, 0.2, 0), Catch::Contains("label -3"));
}

TEST_CASE("symmetric noise: the cleaned twin gives back the flags", "[dml]") {
  const auto y = balanced_labels(300, 5);
  const NoiseResult r = symmetric_noise(y, 0.4, 1);
  ImageList noisy, cleaned;
  for (int64_t i = 0; i < 300; ++i) {
    noisy.paths.push_back("img/" + std::to_string(i) + ".jpg");
    noisy.labels.push_back(r.labels[i]);
    if (!r.noisy[i]) {
      cleaned.paths.push_back(noisy.paths.back());
      cleaned.labels.push_back(r.labels[i]);
    }
  }
  CHECK(noise_flags_from_cleaned(noisy, cleaned, "cleaned") == r.noisy);
}

TEST_CASE(
    "small-cluster noise: chosen classes vanish, labels contiguous from 0, clusters follow the features",
    "[dml]") {
  // 10 classes (labels 5..14) of 24 samples; each class is 12 tight pairs far apart in 3-D, so 2-means
  // clustering with cluster size 2 recovers the pairs exactly.
  const int32_t C = 10;
  const int64_t per = 24, N = C * per, dim = 3;
  std::vector<int32_t> y(N);
  std::vector<float> feat(N * dim);
  Rng rng(1, RngStream::test);
  for (int64_t i = 0; i < N; ++i) {
    y[i] = 5 + static_cast<int32_t>(i / per);
    const int64_t pair = i / 2;  // samples 2p and 2p+1 form a pair
    for (int64_t j = 0; j < dim; ++j)
      feat[i * dim + j] = 100.0f * static_cast<float>((pair * 7 + j * 13) % 31) + 0.01f * rng.uniform();
  }
  SmallClusterOptions opt;
  opt.rate = 0.3;
  opt.seed = 4;
  opt.cluster_size = 2;
  const NoiseResult r = small_cluster_noise(y, feat.data(), dim, opt);
  REQUIRE(r.removed_classes.size() == 3);  // round(0.3 · 10)
  CHECK(r.num_classes == 7);
  CHECK(r.num_clusters == 3 * 12);
  std::set<int32_t> removed(r.removed_classes.begin(), r.removed_classes.end());
  std::set<int32_t> seen;
  std::map<int32_t, int32_t> clean_map;  // original clean label → new label (must be a bijection, order kept)
  for (int64_t i = 0; i < N; ++i) {
    CAPTURE(i, y[i], r.labels[i]);
    REQUIRE(r.labels[i] >= 0);
    REQUIRE(r.labels[i] < 7);
    seen.insert(r.labels[i]);
    REQUIRE((r.noisy[i] == 1) == (removed.count(y[i]) == 1));
    if (!r.noisy[i]) {
      auto [it, fresh] = clean_map.emplace(y[i], r.labels[i]);
      REQUIRE(it->second == r.labels[i]);
    } else if (i % 2 == 1) {
      REQUIRE(r.labels[i] == r.labels[i - 1]);  // a pair shares its cluster's label
    }
  }
  CHECK(seen.size() == 7);
  int32_t expect = 0;
  for (auto& [orig, now] : clean_map) CHECK(now == expect++);  // increasing original order → 0..6
  CHECK(r.rate == Approx(3.0 * per / N));
  const NoiseResult again = small_cluster_noise(y, feat.data(), dim, opt);
  CHECK(again.labels == r.labels);
  opt.seed = 5;
  CHECK(small_cluster_noise(y, feat.data(), dim, opt).labels != r.labels);
}

TEST_CASE("small-cluster noise: bad input", "[dml]") {
  const auto y = balanced_labels(40, 4);
  std::vector<float> feat(40, 0.0f);
  SmallClusterOptions opt;
  opt.rate = 1.0;
  CHECK_THROWS_WITH(small_cluster_noise(y, feat.data(), 1, opt),
                    Catch::Contains("at least one class must stay clean"));
  opt.rate = 0.5;
  opt.cluster_size = 0;
  CHECK_THROWS_WITH(small_cluster_noise(y, feat.data(), 1, opt), Catch::Contains("cluster size"));
}

TEST_CASE("bisecting k-means: k clusters, balanced by splitting the largest, deterministic", "[dml]") {
  const int64_t n = 3000, dim = 16;
  std::vector<float> feat(n * dim);
  Rng rng(2, RngStream::test);
  for (auto& v : feat) v = rng.uniform();
  std::vector<int64_t> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i] = i;
  const auto ids = bisecting_kmeans(feat.data(), dim, rows, 1500, 10, Rng(3, RngStream::noise));
  std::map<int32_t, int64_t> size;
  for (int32_t c : ids) ++size[c];
  CHECK(size.size() == 1500);
  CHECK(size.begin()->first == 0);
  CHECK(size.rbegin()->first == 1499);
  CHECK(ids == bisecting_kmeans(feat.data(), dim, rows, 1500, 10, Rng(3, RngStream::noise)));
  // Identical points still split (by position) into the requested number of clusters.
  std::vector<float> same(10 * 2, 1.0f);
  std::vector<int64_t> r10(10);
  for (int i = 0; i < 10; ++i) r10[i] = i;
  const auto ids2 = bisecting_kmeans(same.data(), 2, r10, 5, 10, Rng(0, 0));
  CHECK(std::set<int32_t>(ids2.begin(), ids2.end()).size() == 5);
}
