// The dataset interface: batch loading is a pure function of its arguments (any thread count, prefetched or
// not), subsets and splits, .npy feature datasets, and data_setup on a synthetic Fashion-MNIST directory.
#include <catch2/catch.hpp>

#include <cstring>
#include <numeric>

#include "data_fixtures.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/datasets.hpp"
#include "prism/data/prefetch.hpp"
#include "prism/train/data_setup.hpp"

using namespace prism;
using prism::testing::TempDir;

namespace {
// A list dataset of n random-looking PNGs of varying sizes, labels i % 4.
std::shared_ptr<ImageListDataset> make_image_dataset(const TempDir& dir, int n) {
  ImageList list;
  for (int i = 0; i < n; ++i) {
    const std::string rel = "im" + std::to_string(i) + ".png";
    testing::write_bytes(dir / rel, encode_png(testing::pattern_image(30 + 3 * i, 26 + (i * 7) % 11, i)));
    list.paths.push_back(rel);
    list.labels.push_back(i % 4);
  }
  ImageTransformSpec spec;
  spec.resize = 24;
  spec.crop = 20;
  return std::make_shared<ImageListDataset>(list, std::vector<uint8_t>{}, dir.path.string(), spec,
                                            MissingImagePolicy::error, "synthetic.csv");
}

void require_same_batch(const Batch& a, const Batch& b, const std::string& what) {
  INFO(what);
  REQUIRE(a.inputs.shape() == b.inputs.shape());
  REQUIRE(a.indices == b.indices);
  REQUIRE(a.labels.to_vector_i32() == b.labels.to_vector_i32());
  const auto x = a.inputs.to_vector(), y = b.inputs.to_vector();
  size_t first_diff = x.size();
  for (size_t i = 0; i < x.size(); ++i)
    if (std::memcmp(&x[i], &y[i], 4) != 0) {
      first_diff = i;
      break;
    }
  CAPTURE(first_diff);
  REQUIRE(first_diff == x.size());
}
}  // namespace

TEST_CASE("dataset: load_batch is identical for 1 and 2 threads and depends only on its arguments",
          "[data]") {
  TempDir dir;
  auto ds = make_image_dataset(dir, 12);
  const std::vector<int64_t> idx{3, 0, 7, 7, 11, 5};
  Batch one, two;
  {
    ScopedThreads t(1);
    one = ds->load_batch(idx, true, 42, 600);
  }
  {
    ScopedThreads t(2);
    two = ds->load_batch(idx, true, 42, 600);
  }
  require_same_batch(one, two, "threads 1 vs 2");
  REQUIRE(one.inputs.shape() == Shape{6, 3, 20, 20});
  REQUIRE(one.labels.to_vector_i32() == std::vector<int32_t>{3, 0, 3, 3, 3, 1});
  // Rows 2 and 3 show the same image with different draw ids, so (almost surely) different crops.
  const auto v = one.inputs.to_vector();
  REQUIRE(std::memcmp(v.data() + 2 * 1200, v.data() + 3 * 1200, 1200 * 4) != 0);
  // A sample's augmentation depends on its draw id only: row k of a batch starting at draw d equals row 0 of
  // a batch starting at draw d + k.
  Batch shifted = ds->load_batch({7}, true, 42, 603);
  REQUIRE(std::memcmp(v.data() + 3 * 1200, shifted.inputs.to_vector().data(), 1200 * 4) == 0);
  Batch other_seed = ds->load_batch(idx, true, 43, 600);
  REQUIRE(one.inputs.to_vector() != other_seed.inputs.to_vector());
  REQUIRE_THROWS_WITH(ds->load_batch({12}, false, 0, 0), Catch::Contains("out of range"));
}

TEST_CASE("prefetch: batches loaded on the worker thread equal synchronous loads", "[data][threads]") {
  TempDir dir;
  auto ds = make_image_dataset(dir, 10);
  std::vector<std::vector<int64_t>> plan;
  for (int s = 0; s < 6; ++s) plan.push_back({(s * 3) % 10, (s * 7 + 1) % 10, (s + 4) % 10, 9 - s});
  BatchPrefetcher pf(ds, true, 9);
  pf.submit(plan[0], 0);
  for (size_t s = 0; s < plan.size(); ++s) {
    if (s + 1 < plan.size()) pf.submit(plan[s + 1], (s + 1) * 4);
    Batch got = pf.take();
    require_same_batch(got, ds->load_batch(plan[s], true, 9, s * 4), "step " + std::to_string(s));
  }
  REQUIRE(pf.pending() == 0);
  REQUIRE_THROWS_WITH(pf.take(), Catch::Contains("no batch was submitted"));
  // An error on the worker comes back from take(), and the prefetcher keeps working afterwards.
  pf.submit({99}, 0);
  pf.submit({1}, 0);
  REQUIRE_THROWS_WITH(pf.take(), Catch::Contains("out of range"));
  require_same_batch(pf.take(), ds->load_batch({1}, true, 9, 0), "after an error");
  // Destroying a prefetcher with batches still queued neither hangs nor leaks an exception.
  {
    BatchPrefetcher busy(ds, false, 0);
    for (int k = 0; k < 5; ++k) busy.submit({0, 1, 2, 3}, 0);
  }
}

TEST_CASE("subsets: class halves, first N per class, seeded random subsets", "[data]") {
  const std::vector<int32_t> labels{5, 1, 3, 1, 9, 3, 5, 7, 9};                         // distinct: 1 3 5 7 9
  REQUIRE(class_half_indices(labels, true) == std::vector<int64_t>{0, 1, 2, 3, 5, 6});  // 1, 3, 5
  REQUIRE(class_half_indices(labels, false) == std::vector<int64_t>{4, 7, 8});          // 7, 9
  REQUIRE(first_per_class_indices(labels, 1) == std::vector<int64_t>{0, 1, 2, 4, 7});
  REQUIRE(label_range_indices(labels, 3, 5) == std::vector<int64_t>{0, 2, 5, 6});
  const auto a = random_subset_indices(1000, 100, 7);
  REQUIRE(a.size() == 100);
  REQUIRE(std::is_sorted(a.begin(), a.end()));
  REQUIRE(std::adjacent_find(a.begin(), a.end()) == a.end());
  REQUIRE(a.back() < 1000);
  REQUIRE(a == random_subset_indices(1000, 100, 7));
  REQUIRE(a != random_subset_indices(1000, 100, 8));
  REQUIRE(a != random_subset_indices(1000, 100, 7, 1));
  REQUIRE(random_subset_indices(5, 9, 0) == std::vector<int64_t>{0, 1, 2, 3, 4});
  // Uniformity, roughly: every element of a 20-set is picked about half the time over 2000 seeds.
  std::vector<int> hits(20, 0);
  for (uint64_t s = 0; s < 2000; ++s)
    for (int64_t i : random_subset_indices(20, 10, s)) ++hits[i];
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i, hits[i]);
    REQUIRE(std::abs(hits[i] - 1000) < 120);  // binomial sd ~22
  }
}

TEST_CASE("npy features: rows as samples, labels checked", "[data]") {
  TempDir dir;
  std::vector<float> f(5 * 3);
  for (size_t i = 0; i < f.size(); ++i) f[i] = 0.5f * static_cast<float>(i) - 2.0f;
  write_npy_f32(dir / "f.npy", {5, 3}, f);
  write_npy_i64(dir / "l.npy", {4, 4, 2, 0, 1});
  DatasetPtr ds = open_npy_features(dir / "f.npy", dir / "l.npy");
  REQUIRE(ds->size() == 5);
  REQUIRE(ds->sample_shape() == Shape{3});
  REQUIRE(ds->num_classes() == 5);
  Batch b = ds->load_batch({4, 1}, true, 0, 0);
  REQUIRE(b.inputs.shape() == Shape{2, 3});
  REQUIRE(b.inputs.to_vector() == std::vector<float>{f[12], f[13], f[14], f[3], f[4], f[5]});
  REQUIRE(b.labels.to_vector_i32() == std::vector<int32_t>{1, 4});
  REQUIRE_THROWS_WITH(ds->preview(0), Catch::Contains("not images"));
  write_npy_i32(dir / "short.npy", {1, 2});
  REQUIRE_THROWS_WITH(open_npy_features(dir / "f.npy", dir / "short.npy"),
                      Catch::Contains("5 rows") && Catch::Contains("2 labels"));
  write_npy_i32(dir / "neg.npy", {1, 2, -1, 0, 0});
  REQUIRE_THROWS_WITH(open_npy_features(dir / "f.npy", dir / "neg.npy"), Catch::Contains("out of range"));

  Config c;
  c.data.dataset = "npy";
  c.data.train_features = dir / "f.npy";
  c.data.train_labels = dir / "l.npy";
  c.data.split = "open";
  DataSetup s = open_datasets(c);  // distinct labels 0 1 2 4: {0, 1} train, {2, 4} test
  REQUIRE(s.train->size() == 2);
  REQUIRE(s.test->size() == 3);
  REQUIRE(s.test->labels() == std::vector<int32_t>{1, 1, 0});  // 4 4 2, compacted
  REQUIRE(s.test_classes == std::vector<int32_t>{2, 4});
  REQUIRE(s.train_classes == std::vector<int32_t>{0, 1});
}

namespace {
std::string be32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
}
void write_fmnist(const TempDir& dir, const std::string& prefix, const std::vector<uint8_t>& labels) {
  const uint32_t n = static_cast<uint32_t>(labels.size());
  std::string img = std::string("\0\0\x08\x03", 4) + be32(n) + be32(28) + be32(28);
  for (uint32_t k = 0; k < n * 784; ++k) img.push_back(static_cast<char>((k * 13) % 256));
  std::string lab = std::string("\0\0\x08\x01", 4) + be32(n);
  for (uint8_t l : labels) lab.push_back(static_cast<char>(l));
  testing::write_bytes(dir / (prefix + "-images-idx3-ubyte.gz"), testing::gzip_bytes(img));
  testing::write_bytes(dir / (prefix + "-labels-idx1-ubyte.gz"), testing::gzip_bytes(lab));
}
}  // namespace

TEST_CASE("data setup: fashion-mnist closed and open splits", "[data]") {
  TempDir dir;
  std::vector<uint8_t> train_labels, test_labels;
  for (int i = 0; i < 40; ++i) train_labels.push_back(static_cast<uint8_t>(i % 10));
  for (int i = 0; i < 20; ++i) test_labels.push_back(static_cast<uint8_t>((i * 3) % 10));
  write_fmnist(dir, "train", train_labels);
  write_fmnist(dir, "t10k", test_labels);
  Config c;
  c.data.root = dir.path.string();
  DataSetup closed = open_datasets(c);
  REQUIRE(closed.train->size() == 40);
  REQUIRE(closed.test->size() == 20);
  REQUIRE(closed.train->num_classes() == 10);
  REQUIRE(closed.train->sample_shape() == Shape{1, 28, 28});

  c.data.split = "open";
  DataSetup open = open_datasets(c);
  REQUIRE(open.train->size() == 20);
  REQUIRE(open.test->size() == 10);
  REQUIRE(open.train_classes == std::vector<int32_t>{0, 1, 2, 3, 4});
  REQUIRE(open.test_classes == std::vector<int32_t>{5, 6, 7, 8, 9});
  for (int64_t i = 0; i < open.test->size(); ++i) REQUIRE(open.test->label(i) < 5);

  c.data.split = "closed";
  c.data.train_per_class = 2;
  c.data.train_subset = 7;
  DataSetup sub = open_datasets(c);
  REQUIRE(sub.train->size() == 7);

  c.data.root = dir / "absent";
  REQUIRE_THROWS_WITH(open_datasets(c), Catch::Contains("absent") && Catch::Contains("DATA.ROOT"));
}

TEST_CASE("sample_features: test-transform samples, or shrunk previews for large images", "[data]") {
  TempDir dir;
  auto ds = make_image_dataset(dir, 5);
  int64_t dim = 0;
  const std::vector<float> direct = sample_features(*ds, &dim);
  REQUIRE(dim == 3 * 20 * 20);
  REQUIRE(direct.size() == 5 * 1200);
  const auto batch = ds->load_batch({0, 1, 2, 3, 4}, false, 0, 0).inputs.to_vector();
  REQUIRE(direct == batch);
  const std::vector<float> small = sample_features(*ds, &dim, 100, 4);
  REQUIRE(dim == 48);
  REQUIRE(small.size() == 5 * 48);
  const Image p3 = resize_image(ds->preview(3), 4, 4);
  for (int k = 0; k < 48; ++k) {
    CAPTURE(k);
    REQUIRE(small[3 * 48 + k] == p3.pixels[k] / 255.0f);
  }
}
