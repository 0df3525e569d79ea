// Retrieval metrics: a hand-worked example (docs/metrics.md), random cases against a brute-force full sort,
// query ≠ gallery, self-exclusion, ties by gallery index, small memory blocks, threads, bad input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>

#include "dml_test_util.hpp"
#include "prism/core/runtime.hpp"
#include "prism/dml/metrics.hpp"

using namespace prism;
using namespace prism::dml;

namespace {

// Brute force: full sort of every query's gallery by (sim desc, index asc), metrics by their definitions.
RetrievalMetrics brute_force(const std::vector<float>& q, const std::vector<int32_t>& yq,
                             const std::vector<float>& g, const std::vector<int32_t>& yg, int64_t d,
                             bool same) {
  const int64_t nq = yq.size(), ng = yg.size();
  RetrievalMetrics m;
  for (int64_t i = 0; i < nq; ++i) {
    std::vector<float> s(ng);
    for (int64_t j = 0; j < ng; ++j) {
      float acc = 0;
      for (int64_t k = 0; k < d; ++k)
        acc = std::fma(q[i * d + k], g[j * d + k], acc);  // the exact-mode chain
      s[j] = acc;
    }
    std::vector<int64_t> order;
    for (int64_t j = 0; j < ng; ++j)
      if (!(same && j == i)) order.push_back(j);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return s[a] > s[b]; });
    int64_t R = 0;
    for (int64_t j : order) R += yg[j] == yq[i];
    if (R == 0) {
      ++m.num_skipped_queries;
      continue;
    }
    ++m.num_queries;
    m.precision_at_1 += yg[order[0]] == yq[i];
    double hits = 0, ap = 0;
    for (int64_t t = 0; t < R; ++t)
      if (yg[order[t]] == yq[i]) ap += ++hits / (t + 1);
    m.r_precision += hits / R;
    m.map_at_r += ap / R;
    double* rec[] = {&m.recall_at_1, &m.recall_at_2, &m.recall_at_4, &m.recall_at_8};
    const int64_t ks[] = {1, 2, 4, 8};
    for (int t = 0; t < 4; ++t) {
      bool any = false;
      for (int64_t u = 0; u < std::min<int64_t>(ks[t], order.size()); ++u) any = any || yg[order[u]] == yq[i];
      *rec[t] += any;
    }
  }
  const double n = m.num_queries;
  for (double* v : {&m.precision_at_1, &m.r_precision, &m.map_at_r, &m.recall_at_1, &m.recall_at_2,
                    &m.recall_at_4, &m.recall_at_8})
    *v /= n;
  return m;
}

void check_equal(const RetrievalMetrics& a, const RetrievalMetrics& b) {
  CHECK(a.num_queries == b.num_queries);
  CHECK(a.num_skipped_queries == b.num_skipped_queries);
  CHECK(a.precision_at_1 == Approx(b.precision_at_1).margin(1e-12));
  CHECK(a.r_precision == Approx(b.r_precision).margin(1e-12));
  CHECK(a.map_at_r == Approx(b.map_at_r).margin(1e-12));
  CHECK(a.recall_at_1 == Approx(b.recall_at_1).margin(1e-12));
  CHECK(a.recall_at_2 == Approx(b.recall_at_2).margin(1e-12));
  CHECK(a.recall_at_4 == Approx(b.recall_at_4).margin(1e-12));
  CHECK(a.recall_at_8 == Approx(b.recall_at_8).margin(1e-12));
}

}  // namespace

TEST_CASE("metrics: the worked example of docs/metrics.md", "[dml]") {
  // 1-D embeddings (similarity = product). Query 0 (label A=0, value 1) against a gallery ranked by value:
  //   gallery values 0.9 (A), 0.8 (B), 0.7 (A), 0.6 (A), 0.5 (B), 0.4 (B), 0.3 (B), 0.2 (B), 0.1 (B).
  // R = 3 (three A's). Ranked labels: A B A A B B B B B.
  //   P@1 = 1; R-Precision = 2/3 (two A's in the top 3); MAP@R = (1/1 + 2/3 + 0) / 3 = 5/9;
  //   Recall@1 = Recall@2 = Recall@4 = Recall@8 = 1.
  const std::vector<float> g = {0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f, 0.3f, 0.2f, 0.1f};
  const std::vector<int32_t> yg = {0, 1, 0, 0, 1, 1, 1, 1, 1};
  // Query 1 (label B, value 1): ranked labels are the same; R = 6: B's at ranks 2, 5, 6 within the top 6.
  //   P@1 = 0; R-Precision = 3/6; MAP@R = (1/2 + 2/5 + 3/6) / 6 = 0.2333…; Recall@1 = 0, Recall@2 = 1.
  const auto m = evaluate_retrieval(Tensor::from_vector({2, 1}, {1.0f, 1.0f}), {0, 1},
                                    Tensor::from_vector({9, 1}, g), yg);
  CHECK(m.num_queries == 2);
  CHECK(m.precision_at_1 == Approx((1.0 + 0.0) / 2));
  CHECK(m.r_precision == Approx((2.0 / 3 + 3.0 / 6) / 2));
  CHECK(m.map_at_r == Approx((5.0 / 9 + (0.5 + 0.4 + 0.5) / 6) / 2));
  CHECK(m.recall_at_1 == Approx(0.5));
  CHECK(m.recall_at_2 == Approx(1.0));
  CHECK(m.recall_at_8 == Approx(1.0));
}

TEST_CASE("metrics: query = gallery excludes each query's own entry", "[dml]") {
  // Four 2-D points: two tight pairs of different classes. Without self-exclusion every query would find
  // itself.
  const std::vector<float> e = {1, 0, 0.99f, 0.141f, 0, 1, 0.141f, 0.99f};
  const auto same = evaluate_retrieval(Tensor::from_vector({4, 2}, e), {0, 0, 1, 1});
  CHECK(same.num_queries == 4);
  CHECK(same.precision_at_1 == 1.0);
  CHECK(same.map_at_r == 1.0);
  // Swap the labels within the pairs' partners: now each nearest other point has the other label.
  const auto swapped = evaluate_retrieval(Tensor::from_vector({4, 2}, e), {0, 1, 0, 1});
  CHECK(swapped.precision_at_1 == 0.0);
  CHECK(swapped.recall_at_2 == 0.5);  // queries 1 and 3 find their class at rank 2, queries 0 and 2 at rank 3
  CHECK(swapped.recall_at_4 == 1.0);  // only 3 candidates: Recall@4 asks whether any of them is relevant
  // A class with one sample has nothing to retrieve: skipped and counted.
  const auto lonely = evaluate_retrieval(Tensor::from_vector({4, 2}, e), {0, 0, 1, 2});
  CHECK(lonely.num_queries == 2);
  CHECK(lonely.num_skipped_queries == 2);
}

TEST_CASE("metrics: ties are broken by gallery index", "[dml]") {
  // Every gallery item has the same similarity; ranking = index order: labels 1, 0, 0, 1.
  const auto m = evaluate_retrieval(Tensor::from_vector({1, 1}, {1.0f}), {0},
                                    Tensor::from_vector({4, 1}, {0.5f, 0.5f, 0.5f, 0.5f}), {1, 0, 0, 1});
  CHECK(m.precision_at_1 == 0.0);
  CHECK(m.r_precision == 0.5);  // R = 2: ranks 1–2 hold labels 1, 0
  CHECK(m.map_at_r == Approx(0.5 * (1.0 / 2)));
  CHECK(m.recall_at_2 == 1.0);
}

TEST_CASE("metrics: random cases match the brute-force definition", "[dml]") {
  const bool same = GENERATE(true, false);
  const int64_t block = GENERATE(int64_t(1) << 26, 5 * 4 * 173);  // whole, or 5 query rows per block
  CAPTURE(same, block);
  ScopedMode sm(Mode::exact);
  const int64_t nq = 131, ng = same ? 131 : 173, d = 5;
  // Few distinct values: many exact ties in the similarities.
  Rng rng(9, RngStream::test);
  std::vector<float> q(nq * d), g(ng * d);
  for (auto& v : q) v = static_cast<float>(rng.below(3)) * 0.5f;
  for (auto& v : g) v = static_cast<float>(rng.below(3)) * 0.5f;
  if (same) g = q;
  auto yq = dmltest::random_labels(nq, 12, 10), yg = same ? yq : dmltest::random_labels(ng, 12, 11);
  RetrievalOptions opt;
  opt.block_bytes = block;
  const auto got = same ? evaluate_retrieval(Tensor::from_vector({nq, d}, q), yq, Tensor(), {}, opt)
                        : evaluate_retrieval(Tensor::from_vector({nq, d}, q), yq,
                                             Tensor::from_vector({ng, d}, g), yg, opt);
  check_equal(got, brute_force(q, yq, g, yg, d, same));
}

TEST_CASE("metrics: R larger than 8 and no cap on R, threads do not change a digit", "[dml]") {
  ScopedMode sm(Mode::exact);
  const int64_t n = 1500, d = 16;
  auto e = dmltest::random_unit_rows(n, d, 12);
  auto y = dmltest::random_labels(n, 2, 13);  // R ≈ 750
  auto run = [&](int threads) {
    ScopedThreads st(threads);
    return evaluate_retrieval(Tensor::from_vector({n, d}, e), y);
  };
  const auto a = run(1), b = run(2);
  check_equal(a, brute_force(e, y, e, y, d, true));
  CHECK(a.map_at_r == b.map_at_r);
  CHECK(a.r_precision == b.r_precision);
  CHECK(a.precision_at_1 == b.precision_at_1);
}

TEST_CASE("metrics: bad input", "[dml]") {
  Tensor e = Tensor::from_vector({3, 2}, {1, 0, 0, 1, 1, 1});
  CHECK_THROWS_WITH(evaluate_retrieval(e, {0, 1}), Catch::Contains("2 query labels for 3"));
  CHECK_THROWS_WITH(evaluate_retrieval(e, {0, 1, 1}, Tensor::from_vector({2, 3}, {0, 0, 0, 0, 0, 0}), {0, 1}),
                    Catch::Contains("width"));
  CHECK_THROWS_WITH(evaluate_retrieval(e, {0, 1, 1}, Tensor::empty({0, 2}), {}),
                    Catch::Contains("gallery is empty"));
}
