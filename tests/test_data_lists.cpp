// CUB-200-2011 and Stanford Online Products readers on tiny fixture trees, and data_setup on image lists
// (noise flags from a cleaned twin, open split by class halves, subsets, label compaction).
#include <catch2/catch.hpp>

#include "data_fixtures.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/datasets.hpp"
#include "prism/train/data_setup.hpp"

using namespace prism;
using prism::testing::TempDir;

TEST_CASE("cub200: images.txt + image_class_labels.txt, first half of the classes train", "[data]") {
  TempDir dir;
  testing::write_bytes(dir / "images.txt",
                       "1 001.A/a1.jpg\n2 001.A/a2.jpg\n3 002.B/b1.jpg\n4 003.C/c1.jpg\n5 004.D/d1.jpg\n\n");
  testing::write_bytes(dir / "image_class_labels.txt", "1 1\n2 1\n3 2\n4 3\n5 4\n");
  ListPair p = read_cub200(dir.path.string());
  REQUIRE(p.train.paths ==
          std::vector<std::string>{"images/001.A/a1.jpg", "images/001.A/a2.jpg", "images/002.B/b1.jpg"});
  REQUIRE(p.train.labels == std::vector<int32_t>{1, 1, 2});
  REQUIRE(p.test.paths == std::vector<std::string>{"images/003.C/c1.jpg", "images/004.D/d1.jpg"});
  REQUIRE(p.test.labels == std::vector<int32_t>{3, 4});

  testing::write_bytes(dir / "image_class_labels.txt", "1 1\n2 1\n3 2\n4 3\n");
  REQUIRE_THROWS_WITH(read_cub200(dir.path.string()),
                      Catch::Contains("images.txt:5") && Catch::Contains("image id 5 has no class"));
  testing::write_bytes(dir / "image_class_labels.txt", "1 1\n2 x\n");
  REQUIRE_THROWS_WITH(read_cub200(dir.path.string()),
                      Catch::Contains("image_class_labels.txt:2") && Catch::Contains("'x'"));
  REQUIRE_THROWS_WITH(read_cub200(dir / "nowhere"),
                      Catch::Contains("images.txt") && Catch::Contains("DATA.ROOT"));
}

TEST_CASE("sop: Ebay_train.txt / Ebay_test.txt with their header", "[data]") {
  TempDir dir;
  testing::write_bytes(dir / "Ebay_train.txt",
                       "image_id class_id super_class_id path\n1 1 1 bicycle_final/1_0.JPG\n2 1 1 "
                       "bicycle_final/1_1.JPG\n3 2 1 bicycle_final/2_0.JPG\n");
  testing::write_bytes(dir / "Ebay_test.txt",
                       "image_id class_id super_class_id path\n4 3 2 chair_final/3_0.JPG\n");
  ListPair p = read_sop(dir.path.string());
  REQUIRE(p.train.size() == 3);
  REQUIRE(p.train.labels == std::vector<int32_t>{1, 1, 2});
  REQUIRE(p.train.paths[2] == "bicycle_final/2_0.JPG");
  REQUIRE(p.test.labels == std::vector<int32_t>{3});
  testing::write_bytes(dir / "Ebay_test.txt", "1 3 2 chair_final/3_0.JPG\n");
  REQUIRE_THROWS_WITH(read_sop(dir.path.string()),
                      Catch::Contains("Ebay_test.txt:1") && Catch::Contains("header"));
  testing::write_bytes(dir / "Ebay_test.txt",
                       "image_id class_id super_class_id path\n4 3 chair_final/3_0.JPG\n");
  REQUIRE_THROWS_WITH(read_sop(dir.path.string()), Catch::Contains("Ebay_test.txt:2"));
}

namespace {
// Six classes (labels 1..6 in the files), three images each, 12 × 10 PNGs.
void write_list_tree(const TempDir& dir) {
  std::string train, cleaned;
  for (int c = 1; c <= 6; ++c)
    for (int k = 0; k < 3; ++k) {
      const std::string rel = "img/c" + std::to_string(c) + "_" + std::to_string(k) + ".png";
      testing::write_bytes(dir / rel, encode_png(testing::pattern_image(12, 10, c * 3 + k)));
      // The noisy list gives image k == 2 of every class the next class's label; the cleaned twin omits
      // those.
      const int noisy_label = k == 2 ? c % 6 + 1 : c;
      train += rel + "," + std::to_string(noisy_label) + "\n";
      if (k != 2) cleaned += rel + "," + std::to_string(c) + "\n";
    }
  testing::write_bytes(dir / "noisy_train.csv", train);
  testing::write_bytes(dir / "noisy_cleaned_train.csv", cleaned);
}
}  // namespace

TEST_CASE("data setup: list with a cleaned twin, open split by class halves, subsets", "[data]") {
  TempDir dir;
  write_list_tree(dir);
  Config c;
  c.data.dataset = "list";
  c.data.root = dir.path.string();
  c.data.train_img_source = dir / "noisy_train.csv";
  c.data.train_clean_source = dir / "noisy_cleaned_train.csv";
  c.data.split = "open";
  c.input.origin_size = {12};
  c.input.crop_size = {8};
  DataSetup s = open_datasets(c);
  // Noisy labels 1..3 (first half) train; 4..6 test.
  REQUIRE(s.train->size() == 9);
  REQUIRE(s.test->size() == 9);
  REQUIRE(s.train_classes == std::vector<int32_t>{1, 2, 3});
  REQUIRE(s.test_classes == std::vector<int32_t>{4, 5, 6});
  REQUIRE(s.train->num_classes() == 3);
  REQUIRE(s.train->has_noise_flags());
  int noisy = 0;
  for (int64_t i = 0; i < s.train->size(); ++i) {
    const std::string src = s.train->sample_source(i);
    CAPTURE(i, src);
    const bool is_third = src.find("_2.png") != std::string::npos;
    REQUIRE(s.train->noise_flag(i) == (is_third ? 1 : 0));
    noisy += s.train->noise_flag(i);
  }
  REQUIRE(noisy == 3);
  REQUIRE(s.train->sample_shape() == Shape{3, 8, 8});

  c.data.train_per_class = 2;
  c.data.test_subset = 4;
  DataSetup sub = open_datasets(c);
  REQUIRE(sub.train->size() == 6);
  REQUIRE(sub.test->size() == 4);
  DataSetup sub2 = open_datasets(c);
  for (int64_t i = 0; i < 4; ++i) REQUIRE(sub.test->sample_source(i) == sub2.test->sample_source(i));
  c.seed = 1;
  DataSetup sub3 = open_datasets(c);
  bool differs = false;
  for (int64_t i = 0; i < 4; ++i) differs |= sub.test->sample_source(i) != sub3.test->sample_source(i);
  REQUIRE(differs);  // Philox is deterministic: seeds 0 and 1 pick different 4-of-9 subsets, always
}

TEST_CASE("data setup: generated noise comes from the config's generator, or a given one", "[data]") {
  TempDir dir;
  write_list_tree(dir);
  Config c;
  c.data.dataset = "list";
  c.data.root = dir.path.string();
  c.data.train_img_source = dir / "noisy_train.csv";
  c.data.test_img_source = dir / "noisy_cleaned_train.csv";
  c.input.origin_size = {12};
  c.input.crop_size = {8};
  c.noise.type = "symmetric";
  // Without a generator, the config's own (symmetric, rate NOISE.NOISE_RATE) is applied.
  const DataSetup by_config = open_datasets(c);
  REQUIRE(by_config.train->has_noise_flags());
  int64_t changed = 0;
  for (uint8_t f : by_config.train->noise_flags()) changed += f;
  REQUIRE(changed > 0);
  int calls = 0;
  DataSetup s = open_datasets(c, [&](const Dataset& clean) {
    ++calls;
    NoisyLabels n;
    n.labels = clean.labels();
    n.flags.assign(n.labels.size(), 0);
    n.labels[0] = (n.labels[0] + 1) % clean.num_classes();
    n.flags[0] = 1;
    return n;
  });
  REQUIRE(calls == 1);
  REQUIRE(s.train->size() == 18);
  REQUIRE(s.test->size() == 12);
  REQUIRE(s.train->noise_flags()[0] == 1);
  REQUIRE(s.train->label(0) == 1);  // file label 1 → compact 0 → shifted to 1
  REQUIRE_THROWS_WITH(open_datasets(c,
                                    [](const Dataset&) {
                                      return NoisyLabels{{1, 2}, {0, 0}};
                                    }),
                      Catch::Contains("2 labels for 18 samples"));
}
