// P×K sampler: batch structure, distinct classes and instances, padding of small classes, determinism by seed
// and batch number, counter save/restore, bad configurations.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "prism/core/runtime.hpp"
#include "prism/dml/sampler.hpp"

using namespace prism;
using namespace prism::dml;

namespace {
// Class c (label 10 + c) has sizes[c] samples, interleaved over the dataset.
std::vector<int32_t> labels_with_sizes(const std::vector<int>& sizes) {
  std::vector<int32_t> y;
  bool more = true;
  for (int round = 0; more; ++round) {
    more = false;
    for (size_t c = 0; c < sizes.size(); ++c)
      if (round < sizes[c]) y.push_back(static_cast<int32_t>(10 + c)), more = true;
  }
  return y;
}
}  // namespace

TEST_CASE("sampler: P distinct classes × K distinct instances", "[dml]") {
  const auto y = labels_with_sizes({30, 12, 8, 25, 40, 9, 16, 22});
  PKSampler s(y, 16, 4, 7);
  CHECK(s.classes_per_batch() == 4);
  std::map<int32_t, int> class_hits;
  for (int b = 0; b < 200; ++b) {
    const PKBatch batch = s.next();
    REQUIRE(batch.indices.size() == 16);
    std::set<int32_t> classes;
    for (int t = 0; t < 4; ++t) {
      std::set<int64_t> inst;
      for (int k = 0; k < 4; ++k) {
        const int64_t i = batch.indices[t * 4 + k];
        CAPTURE(b, t, k, i);
        REQUIRE(y[i] == batch.labels[t * 4 + k]);
        REQUIRE(batch.labels[t * 4 + k] == batch.labels[t * 4]);
        inst.insert(i);
      }
      CHECK(inst.size() == 4);  // every class here has >= 4 samples
      classes.insert(batch.labels[t * 4]);
      ++class_hits[batch.labels[t * 4]];
    }
    CHECK(classes.size() == 4);
  }
  // Classes are drawn uniformly: 200 batches × 4 / 8 classes = 100 each (binomial sd ≈ 8.7; 6 sd bounds).
  for (auto& [c, hits] : class_hits) {
    CAPTURE(c);
    CHECK(hits > 48);
    CHECK(hits < 152);
  }
  CHECK(class_hits.size() == 8);
}

TEST_CASE("sampler: a class with fewer than K images gives all of them, padded by its own", "[dml]") {
  const auto y = labels_with_sizes({2, 2});
  PKSampler s(y, 10, 5, 1);
  for (int b = 0; b < 20; ++b) {
    const PKBatch batch = s.next();
    for (int t = 0; t < 2; ++t) {
      std::set<int64_t> inst(batch.indices.begin() + t * 5, batch.indices.begin() + t * 5 + 5);
      CAPTURE(b, t);
      CHECK(inst.size() == 2);  // both images appear, the other 3 slots repeat them
      for (int64_t i : inst) CHECK(y[i] == batch.labels[t * 5]);
    }
  }
}

TEST_CASE("sampler: deterministic by seed and batch number, state is the counter", "[dml]") {
  const auto y = labels_with_sizes({30, 12, 8, 25, 40, 9});
  PKSampler a(y, 12, 3, 42), b(y, 12, 3, 42), c(y, 12, 3, 43);
  std::vector<PKBatch> first;
  for (int i = 0; i < 5; ++i) first.push_back(a.next());
  for (int i = 0; i < 5; ++i) CHECK(b.next().indices == first[i].indices);
  bool differs = false;
  for (int i = 0; i < 5; ++i) differs = differs || c.next().indices != first[i].indices;
  CHECK(differs);
  CHECK(a.batch(2).indices == first[2].indices);

  StateDict state;
  a.save_state(state);
  CHECK(state.integer("sampler.counter") == 5);
  PKSampler resumed(y, 12, 3, 42);
  resumed.load_state(state);
  CHECK(resumed.next().indices == a.next().indices);
  PKSampler other_seed(y, 12, 3, 7);
  CHECK_THROWS_WITH(other_seed.load_state(state), Catch::Contains("seed"));
}

TEST_CASE("sampler: bad configurations are rejected", "[dml]") {
  const auto y = labels_with_sizes({5, 5, 5});
  CHECK_THROWS_WITH(PKSampler(y, 10, 4, 0), Catch::Contains("multiple of K = 4"));
  CHECK_THROWS_WITH(PKSampler(y, 16, 4, 0),
                    Catch::Contains("needs at least 4 classes") && Catch::Contains("have 3"));
  CHECK_THROWS_WITH(PKSampler({0, 1, -2}, 2, 1, 0), Catch::Contains("label -2"));
}
