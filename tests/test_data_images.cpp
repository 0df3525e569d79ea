// Image decoding, the torchvision-style transforms (geometry, determinism by seed, flip) and image-list
// datasets with missing / corrupt / grayscale images.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "data_fixtures.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/datasets.hpp"
#include "prism/data/image.hpp"
#include "prism/data/transform.hpp"

using namespace prism;
using prism::testing::TempDir;

namespace {
bool same_pixels(const Image& a, const Image& b) {
  return a.width == b.width && a.height == b.height && a.channels == b.channels && a.pixels == b.pixels;
}
}  // namespace

TEST_CASE("image: PNG round trip is exact, JPEG decodes, grayscale becomes 3 channels", "[data]") {
  const Image img = testing::pattern_image(13, 9, 1);
  const std::string png = encode_png(img);
  Image back = decode_image_memory(reinterpret_cast<const uint8_t*>(png.data()), png.size(), "mem.png");
  REQUIRE(same_pixels(img, back));

  const Image flat = testing::solid_image(16, 16, 200, 100, 50);
  const std::string jpg = encode_jpeg(flat, 95);
  Image j = decode_image_memory(reinterpret_cast<const uint8_t*>(jpg.data()), jpg.size(), "mem.jpg");
  REQUIRE(j.width == 16);
  REQUIRE(j.height == 16);
  for (size_t p = 0; p < 256; ++p) {
    CAPTURE(p);
    REQUIRE(std::abs(j.pixels[3 * p] - 200) <= 3);
    REQUIRE(std::abs(j.pixels[3 * p + 1] - 100) <= 3);
    REQUIRE(std::abs(j.pixels[3 * p + 2] - 50) <= 3);
  }

  Image gray;
  gray.width = 5;
  gray.height = 4;
  gray.channels = 1;
  for (int i = 0; i < 20; ++i) gray.pixels.push_back(static_cast<uint8_t>(i * 12));
  const std::string gpng = encode_png(gray);
  Image g = decode_image_memory(reinterpret_cast<const uint8_t*>(gpng.data()), gpng.size(), "gray.png");
  REQUIRE(g.channels == 3);
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    REQUIRE(g.pixels[3 * i] == i * 12);
    REQUIRE(g.pixels[3 * i + 1] == i * 12);
    REQUIRE(g.pixels[3 * i + 2] == i * 12);
  }
  REQUIRE_THROWS_WITH(decode_image_memory(reinterpret_cast<const uint8_t*>("garbage!"), 8, "junk.jpg"),
                      Catch::Contains("junk.jpg"));
}

TEST_CASE("image: resize of the shorter side follows torchvision's sizes", "[data]") {
  const Image wide = testing::pattern_image(500, 375);
  Image r = resize_shorter_side(wide, 256);
  REQUIRE(r.height == 256);
  REQUIRE(r.width == 341);  // int(256 * 500 / 375) = int(341.33)
  const Image tall = testing::pattern_image(300, 451);
  r = resize_shorter_side(tall, 256);
  REQUIRE(r.width == 256);
  REQUIRE(r.height == 384);  // int(256 * 451 / 300) = int(384.85)
  const Image exact = testing::pattern_image(256, 300);
  REQUIRE(same_pixels(resize_shorter_side(exact, 256), exact));
  // A flat image stays flat through the triangle filter.
  Image flat = resize_image(testing::solid_image(40, 30, 10, 20, 30), 17, 11);
  for (size_t p = 0; p < 17 * 11; ++p) {
    CAPTURE(p);
    REQUIRE(flat.pixels[3 * p] == 10);
    REQUIRE(flat.pixels[3 * p + 1] == 20);
    REQUIRE(flat.pixels[3 * p + 2] == 30);
  }
}

TEST_CASE("image: center crop geometry (round half to even) and zero padding", "[data]") {
  const Image img = testing::pattern_image(10, 7);
  Image c = center_crop(img, 4, 4);
  // top = round((7 - 4) / 2) = round(1.5) = 2, left = round(3) = 3
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      CAPTURE(y, x);
      REQUIRE(std::memcmp(c.at(y, x), img.at(y + 2, x + 3), 3) == 0);
    }
  Image big = center_crop(testing::solid_image(2, 2, 9, 9, 9), 4, 4);  // top = left = round(-1) = -1
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      CAPTURE(y, x);
      const bool inside = y >= 1 && y <= 2 && x >= 1 && x <= 2;
      REQUIRE(big.at(y, x)[0] == (inside ? 9 : 0));
    }
}

TEST_CASE("transform: random resized crop boxes stay in bounds and respect scale and ratio", "[data]") {
  const std::pair<int, int> sizes[] = {{256, 341}, {256, 256}, {384, 256}, {300, 301}};
  for (auto [h, w] : sizes) {
    int fallbacks = 0;
    for (uint64_t draw = 0; draw < 300; ++draw) {
      Rng rng = Rng(7, RngStream::augment).fork(draw);
      Rng again = rng;
      const CropBox b = random_resized_crop_box(h, w, 0.2f, 1.0f, 0.75f, 4.0f / 3.0f, rng);
      const CropBox b2 = random_resized_crop_box(h, w, 0.2f, 1.0f, 0.75f, 4.0f / 3.0f, again);
      CAPTURE(h, w, draw, b.top, b.left, b.height, b.width);
      REQUIRE(std::memcmp(&b, &b2, sizeof b) == 0);
      REQUIRE(b.height > 0);
      REQUIRE(b.width > 0);
      REQUIRE(b.top >= 0);
      REQUIRE(b.left >= 0);
      REQUIRE(b.top + b.height <= h);
      REQUIRE(b.left + b.width <= w);
      const double frac = double(b.height) * b.width / (double(h) * w);
      if (b.height == h && b.width == w) ++fallbacks;
      // Rounding w and h to integers moves the area and ratio slightly off the drawn values.
      REQUIRE(frac >= 0.2 * 0.95);
      REQUIRE(frac <= 1.0);
      const double ratio = double(b.width) / b.height;
      REQUIRE(ratio >= 0.75 * 0.95);
      REQUIRE(ratio <= 4.0 / 3.0 * 1.05);
    }
    CHECK(fallbacks < 30);  // a full-image box needs the fallback or a draw near scale 1
  }
}

TEST_CASE("transform: random resized crop falls back to the ratio-clamped central crop", "[data]") {
  Rng rng(1, RngStream::augment);
  // A 10 × 1000 strip cannot hold a box of >= 90% of its area with ratio <= 4/3 (it would need h ~ 95).
  const CropBox b = random_resized_crop_box(10, 1000, 0.9f, 1.0f, 0.75f, 4.0f / 3.0f, rng);
  REQUIRE(rng.counter() == 20);  // 10 tries x (scale, ratio), no position draws
  REQUIRE(b.height == 10);
  REQUIRE(b.width == 13);  // round(10 * 4/3)
  REQUIRE(b.top == 0);
  REQUIRE(b.left == (1000 - 13) / 2);
  const CropBox t = random_resized_crop_box(1000, 10, 0.9f, 1.0f, 0.75f, 4.0f / 3.0f, rng);
  REQUIRE(t.width == 10);
  REQUIRE(t.height == 13);  // round(10 / 0.75)
  REQUIRE(t.top == (1000 - 13) / 2);
}

TEST_CASE("transform: deterministic by seed, flip mirrors exactly, normalisation is per channel", "[data]") {
  const Image img = testing::pattern_image(64, 48, 3);
  ImageTransformSpec spec;
  spec.resize = 40;
  spec.crop = 32;
  const size_t n = 3 * 32 * 32;
  std::vector<float> a(n), b(n), c(n);
  Rng r1 = Rng(5, RngStream::augment).fork(11), r2 = Rng(5, RngStream::augment).fork(11),
      r3 = Rng(5, RngStream::augment).fork(12);
  transform_to_chw(img, spec, true, r1, a.data());
  transform_to_chw(img, spec, true, r2, b.data());
  transform_to_chw(img, spec, true, r3, c.data());
  REQUIRE(std::memcmp(a.data(), b.data(), n * 4) == 0);
  REQUIRE(std::memcmp(a.data(), c.data(), n * 4) != 0);

  // Scale and ratio pinned to 1 make the crop the whole (square) image, so only the flip remains.
  const Image sq = testing::pattern_image(24, 24, 2);
  ImageTransformSpec pin;
  pin.resize = 0;
  pin.crop = 24;
  pin.scale_min = pin.scale_max = 1.0f;
  pin.ratio_min = pin.ratio_max = 1.0f;
  pin.flip_prob = 1.0f;
  Rng rng(3, RngStream::augment);
  REQUIRE(same_pixels(transform_image(sq, pin, true, rng), flip_horizontal(sq)));
  pin.flip_prob = 0.0f;
  REQUIRE(same_pixels(transform_image(sq, pin, true, rng), sq));
  for (int y = 0; y < 24; ++y)
    for (int x = 0; x < 24; ++x) REQUIRE(std::memcmp(flip_horizontal(sq).at(y, x), sq.at(y, 23 - x), 3) == 0);

  // Test transform of a flat image: every value is exactly (v / 255 - mean) / std of its channel.
  ImageTransformSpec test_spec;
  std::vector<float> out(3 * 224 * 224);
  Rng unused;
  transform_to_chw(testing::solid_image(300, 260, 10, 128, 255), test_spec, false, unused, out.data());
  const float expect[3] = {(10 / 255.0f - 0.485f) / 0.229f, (128 / 255.0f - 0.456f) / 0.224f,
                           (255 / 255.0f - 0.406f) / 0.225f};
  for (int ch = 0; ch < 3; ++ch)
    for (int p = 0; p < 224 * 224; p += 97) {
      CAPTURE(ch, p);
      REQUIRE(out[ch * 224 * 224 + p] == expect[ch]);
    }
  REQUIRE(unused.counter() == 0);  // the test transform draws nothing

  // INPUT.MODE BGR (BN-Inception's input): planes B, G, R with values 0–255, then (v − mean) / std.
  ImageTransformSpec bgr = test_spec;
  bgr.bgr255 = true;
  bgr.mean = {104, 117, 128};
  bgr.std = {1, 1, 1};
  transform_to_chw(testing::solid_image(300, 260, 10, 128, 255), bgr, false, unused, out.data());
  const float expect_bgr[3] = {255.0f - 104, 128.0f - 117, 10.0f - 128};
  for (int ch = 0; ch < 3; ++ch)
    for (int p = 0; p < 224 * 224; p += 97) {
      CAPTURE(ch, p);
      REQUIRE(out[ch * 224 * 224 + p] == expect_bgr[ch]);
    }
}

TEST_CASE("image list: missing and corrupt images are skipped and counted, or rejected", "[data]") {
  TempDir dir;
  testing::write_bytes(dir / "img/a.png", encode_png(testing::pattern_image(40, 30, 1)));
  testing::write_bytes(dir / "img/b.jpg", encode_jpeg(testing::pattern_image(30, 50, 2)));
  Image gray;
  gray.width = gray.height = 20;
  gray.channels = 1;
  gray.pixels.assign(400, 77);
  testing::write_bytes(dir / "img/gray.png", encode_png(gray));
  testing::write_bytes(dir / "img/corrupt.jpg", "this is not an image at all");
  const std::string full_png = encode_png(testing::pattern_image(40, 40, 3));
  testing::write_bytes(dir / "img/truncated.png", full_png.substr(0, 60));  // header intact, data cut
  ImageList list;
  list.paths = {"img/a.png",       "img/missing.png", "img/b.jpg",
                "img/corrupt.jpg", "img/gray.png",    "img/truncated.png"};
  list.labels = {1, 1, 2, 2, 3, 3};
  ImageTransformSpec spec;
  spec.resize = 24;
  spec.crop = 16;
  spec.mean = {0.0f};
  spec.std = {1.0f};

  ImageListDataset ds(list, {0, 1, 0, 1, 1, 0}, dir.path.string(), spec, MissingImagePolicy::skip,
                      "list.csv");
  REQUIRE(ds.size() == 3);
  REQUIRE(ds.skipped().size() == 3);
  REQUIRE(ds.skipped()[0].entry == 2);
  REQUIRE(ds.skipped()[0].path == dir / "img/missing.png");
  REQUIRE(ds.skipped()[1].entry == 4);
  // A file whose header is intact but whose data is cut is caught by the start-up probe too, by its format.
  REQUIRE(ds.skipped()[2].entry == 6);
  REQUIRE_THAT(ds.skipped()[2].reason, Catch::Contains("truncated PNG"));
  REQUIRE(ds.labels() == std::vector<int32_t>{1, 2, 3});
  REQUIRE(ds.noise_flags() == std::vector<uint8_t>{0, 0, 1});  // flags follow the kept entries
  REQUIRE(ds.sample_shape() == Shape{3, 16, 16});

  Batch b = ds.load_batch({0, 1, 2}, false, 0, 0);
  REQUIRE(b.inputs.shape() == Shape{3, 3, 16, 16});
  const auto v = b.inputs.to_vector();
  for (int p = 0; p < 256; ++p) {  // the grayscale image: three equal planes of 77 / 255
    CAPTURE(p);
    REQUIRE(v[2 * 768 + p] == 77 / 255.0f);
    REQUIRE(v[2 * 768 + 256 + p] == 77 / 255.0f);
    REQUIRE(v[2 * 768 + 512 + p] == 77 / 255.0f);
  }
  // A file damaged after the probe is found at load time: an error naming the entry, the file and its format.
  testing::write_bytes(dir / "img/gray.png", encode_png(gray).substr(0, 60));
  REQUIRE_THROWS_WITH(ds.load_batch({2}, true, 0, 0), Catch::Contains("entry 5") &&
                                                          Catch::Contains("gray.png") &&
                                                          Catch::Contains("truncated PNG"));

  REQUIRE_THROWS_WITH(
      ImageListDataset(list, {}, dir.path.string(), spec, MissingImagePolicy::error, "list.csv"),
      Catch::Contains("list.csv") && Catch::Contains("entry 2") && Catch::Contains("missing.png"));
  ImageList none;
  none.paths = {"nothing.png"};
  none.labels = {0};
  REQUIRE_THROWS_WITH(
      ImageListDataset(none, {}, dir.path.string(), spec, MissingImagePolicy::skip, "empty.csv"),
      Catch::Contains("no usable images"));
}
