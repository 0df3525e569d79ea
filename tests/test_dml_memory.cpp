// Memory bank: ring wrap-around, masked enqueue, more rows than capacity, incremental class centers equal to
// a full recompute bit for bit (and to the mean in double), save/restore, bad input.
#include <catch2/catch.hpp>

#include "dml_test_util.hpp"
#include "prism/core/runtime.hpp"
#include "prism/dml/memory_bank.hpp"

using namespace prism;
using namespace prism::dml;

namespace {
// Row r of a batch of n rows: every entry = base + r (easy to recognise in the ring).
Tensor tagged_rows(int64_t n, int64_t dim, float base) {
  std::vector<float> v(n * dim);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < dim; ++j) v[r * dim + j] = base + static_cast<float>(r);
  return Tensor::from_vector({n, dim}, v);
}
std::vector<float> column0(const Tensor& t) {
  auto v = t.to_vector();
  std::vector<float> out;
  for (int64_t r = 0; r < t.size(0); ++r) out.push_back(v[r * t.size(1)]);
  return out;
}
}  // namespace

TEST_CASE("memory bank: fills from slot 0, then wraps around", "[dml]") {
  MemoryBank bank(5, 2, 4);
  CHECK(bank.empty());
  CHECK(bank.embeddings().shape() == Shape{0, 2});
  CHECK(bank.enqueue(tagged_rows(3, 2, 10), {0, 1, 2}, {100, 101, 102}) == 3);
  CHECK(bank.size() == 3);
  CHECK(bank.next_slot() == 3);
  CHECK(column0(bank.embeddings()) == std::vector<float>{10, 11, 12});
  CHECK(bank.enqueue(tagged_rows(4, 2, 20), {3, 3, 0, 1}, {200, 201, 202, 203}) == 4);
  CHECK(bank.size() == 5);
  CHECK(bank.next_slot() == 2);
  // Slots 3, 4, 0, 1 took the new rows in order; slot 2 still holds the oldest row.
  CHECK(column0(bank.embeddings()) == std::vector<float>{22, 23, 12, 20, 21});
  CHECK(bank.labels() == std::vector<int32_t>{0, 1, 2, 3, 3});
  CHECK(bank.sample_indices() == std::vector<int64_t>{202, 203, 102, 200, 201});
  CHECK(bank.labels_device().to_vector_i32() == bank.labels());
  CHECK(bank.class_counts() == std::vector<int64_t>{1, 1, 1, 2});
}

TEST_CASE("memory bank: masked enqueue writes only the kept rows, in order", "[dml]") {
  MemoryBank bank(4, 3, 3);
  CHECK(bank.enqueue(tagged_rows(5, 3, 0), {0, 1, 2, 0, 1}, {0, 1, 2, 3, 4}, {1, 0, 0, 1, 1}) == 3);
  CHECK(column0(bank.embeddings()) == std::vector<float>{0, 3, 4});
  CHECK(bank.labels() == std::vector<int32_t>{0, 0, 1});
  CHECK(bank.enqueue(tagged_rows(2, 3, 7), {2, 2}, {}, {0, 0}) == 0);
  CHECK(bank.size() == 3);
  CHECK(bank.sample_indices() == std::vector<int64_t>{0, 3, 4});
}

TEST_CASE("memory bank: more kept rows than capacity keeps the last K, as if written one by one", "[dml]") {
  MemoryBank one_call(3, 1, 2), one_by_one(3, 1, 2);
  one_call.enqueue(tagged_rows(1, 1, 50), {1}, {9});
  one_by_one.enqueue(tagged_rows(1, 1, 50), {1}, {9});
  Tensor rows = tagged_rows(7, 1, 0);
  std::vector<int32_t> y = {0, 1, 0, 1, 0, 1, 0};
  std::vector<int64_t> ids = {0, 1, 2, 3, 4, 5, 6};
  CHECK(one_call.enqueue(rows, y, ids) == 7);
  for (int64_t r = 0; r < 7; ++r) one_by_one.enqueue(tagged_rows(1, 1, float(r)), {y[r]}, {ids[r]});
  CHECK(one_call.next_slot() == one_by_one.next_slot());
  CHECK(column0(one_call.embeddings()) == column0(one_by_one.embeddings()));
  CHECK(one_call.labels() == one_by_one.labels());
  CHECK(one_call.sample_indices() == one_by_one.sample_indices());
  REQUIRE_BITWISE_EQUAL("centers", one_call.centers().to_vector(), one_by_one.centers().to_vector());
}

TEST_CASE("memory bank: incremental centers equal a full recompute bit for bit", "[dml]") {
  const Mode mode = GENERATE(Mode::exact, Mode::fast);
  ScopedMode sm(mode);
  CAPTURE(mode_name(mode));
  // 600 slots over 7 classes, with class 0 large enough (> 256 rows) to need two reduction chunks.
  const int64_t K = 600, d = 24, C = 7;
  MemoryBank bank(K, d, C);
  Rng rng(5, RngStream::test);
  int64_t changed_total = 0;
  for (int step = 0; step < 40; ++step) {
    const int64_t n = 64;
    auto rows = dmltest::random_unit_rows(n, d, 100 + step);
    std::vector<int32_t> y(n);
    for (auto& l : y)
      l = rng.uniform() < 0.5f ? 0 : static_cast<int32_t>(1 + rng.below(C - 2));  // class 6 stays empty
    std::vector<uint8_t> keep(n);
    for (auto& k : keep) k = rng.uniform() < 0.8f;
    bank.enqueue(Tensor::from_vector({n, d}, rows), y, {}, keep);
    const auto inc = bank.centers().to_vector();
    changed_total += bank.classes_refreshed_last();
    CAPTURE(step);
    REQUIRE_BITWISE_EQUAL("incremental vs full recompute", inc, bank.centers_recomputed().to_vector());
  }
  // The empty class has a zero center, and every center is the mean of its rows (checked in double).
  const auto centers = bank.centers().to_vector(), emb = bank.embeddings().to_vector();
  const auto labels = bank.labels();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t j = 0; j < d; ++j) {
      double s = 0;
      int64_t cnt = 0;
      for (int64_t r = 0; r < bank.size(); ++r)
        if (labels[r] == c) s += emb[r * d + j], ++cnt;
      CAPTURE(c, j, cnt);
      CHECK(centers[c * d + j] == Approx(cnt ? s / cnt : 0.0).margin(1e-6));
    }
  CHECK(bank.class_counts()[6] == 0);
  CHECK(bank.class_counts()[0] > 256);
  // Refreshing only changed classes: a call with no enqueue in between recomputes nothing.
  bank.centers();
  CHECK(bank.classes_refreshed_last() == 0);
  CHECK(changed_total > 0);
}

TEST_CASE("memory bank: centers are bit-identical with 1 and 2 threads (exact)", "[dml]") {
  ScopedMode sm(Mode::exact);
  auto run = [](int threads) {
    ScopedThreads st(threads);
    MemoryBank bank(700, 40, 3);
    auto rows = dmltest::random_unit_rows(700, 40, 77);
    bank.enqueue(Tensor::from_vector({700, 40}, rows), dmltest::random_labels(700, 3, 78), {});
    return bank.centers().to_vector();
  };
  REQUIRE_BITWISE_EQUAL("centers, 1 vs 2 threads", run(1), run(2));
}

TEST_CASE("memory bank: save and restore continue identically", "[dml]") {
  const int64_t K = 10, d = 4, C = 3;
  MemoryBank a(K, d, C);
  a.enqueue(Tensor::from_vector({7, d}, dmltest::random_unit_rows(7, d, 1)), {0, 1, 2, 0, 1, 2, 0},
            {1, 2, 3, 4, 5, 6, 7});
  a.enqueue(Tensor::from_vector({6, d}, dmltest::random_unit_rows(6, d, 2)), {2, 2, 1, 1, 0, 0},
            {8, 9, 10, 11, 12, 13}, {1, 1, 0, 1, 1, 1});
  StateDict state;
  a.save_state(state);
  CHECK(state.integer("memory.size") == 10);
  MemoryBank b(K, d, C);
  b.load_state(state);
  CHECK(b.size() == a.size());
  CHECK(b.next_slot() == a.next_slot());
  CHECK(b.labels() == a.labels());
  CHECK(b.sample_indices() == a.sample_indices());
  REQUIRE_BITWISE_EQUAL("embeddings", b.embeddings().to_vector(), a.embeddings().to_vector());
  REQUIRE_BITWISE_EQUAL("centers", b.centers().to_vector(), a.centers().to_vector());
  Tensor more = Tensor::from_vector({3, d}, dmltest::random_unit_rows(3, d, 3));
  a.enqueue(more, {1, 0, 2}, {20, 21, 22});
  b.enqueue(more, {1, 0, 2}, {20, 21, 22});
  REQUIRE_BITWISE_EQUAL("embeddings after more writes", b.embeddings().to_vector(),
                        a.embeddings().to_vector());
  REQUIRE_BITWISE_EQUAL("centers after more writes", b.centers().to_vector(), a.centers().to_vector());

  MemoryBank wrong(K + 1, d, C);
  CHECK_THROWS_WITH(wrong.load_state(state), Catch::Contains("memory.capacity") && Catch::Contains("10"));
  StateDict broken = state;
  broken.ints["memory.size"] = 4;  // not full, yet next != size
  CHECK_THROWS_WITH(b.load_state(broken), Catch::Contains("inconsistent"));
}

TEST_CASE("memory bank: bad input is rejected with the value named", "[dml]") {
  MemoryBank bank(4, 2, 3);
  CHECK_THROWS_WITH(bank.enqueue(tagged_rows(2, 2, 0), {0, 3}, {}),
                    Catch::Contains("label 3") && Catch::Contains("[0, 3)"));
  CHECK_THROWS_WITH(bank.enqueue(tagged_rows(2, 2, 0), {0, -1}, {}), Catch::Contains("label -1"));
  CHECK_THROWS_WITH(bank.enqueue(tagged_rows(2, 3, 0), {0, 1}, {}), Catch::Contains("f32 [n, 2]"));
  CHECK_THROWS_WITH(bank.enqueue(tagged_rows(2, 2, 0), {0}, {}), Catch::Contains("1 labels for 2 rows"));
  CHECK_THROWS_WITH(MemoryBank(0, 2, 3), Catch::Contains("capacity"));
}
