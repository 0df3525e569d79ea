// The official train/test image transforms (reference code; torchvision's algorithms, see transform.hpp).
#include "prism/data/transform.hpp"

#include <cmath>

#include "prism/core/runtime.hpp"
#include "prism/kernels/pmath.hpp"

namespace prism {

void ImageTransformSpec::validate() const {
  if (resize < 0) throw Error("INPUT.ORIGIN_SIZE must be >= 0, got " + std::to_string(resize));
  if (crop <= 0) throw Error("INPUT.CROP_SIZE must be > 0, got " + std::to_string(crop));
  if (!(scale_min > 0 && scale_min <= scale_max && scale_max <= 1))
    throw Error("INPUT.CROP_SCALE must satisfy 0 < min <= max <= 1, got [" + std::to_string(scale_min) +
                ", " + std::to_string(scale_max) + "]");
  if (!(ratio_min > 0 && ratio_min <= ratio_max))
    throw Error("INPUT.CROP_RATIO must satisfy 0 < min <= max, got [" + std::to_string(ratio_min) + ", " +
                std::to_string(ratio_max) + "]");
  if (!(flip_prob >= 0 && flip_prob <= 1)) throw Error("INPUT.FLIP_PROB must be in [0, 1]");
  if (mean.empty() || (mean.size() != 1 && mean.size() != 3))
    throw Error("INPUT.PIXEL_MEAN needs 1 or 3 values");
  if (std.size() != mean.size()) throw Error("INPUT.PIXEL_STD needs as many values as INPUT.PIXEL_MEAN");
  for (float s : std)
    if (!(s > 0)) throw Error("INPUT.PIXEL_STD values must be > 0, got " + std::to_string(s));
}

CropBox random_resized_crop_box(int height, int width, float scale_min, float scale_max, float ratio_min,
                                float ratio_max, Rng& rng) {
  const double area = static_cast<double>(height) * width;
  const float log_lo = kern::log_portable(ratio_min), log_hi = kern::log_portable(ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(scale_min, scale_max);
    const double aspect = kern::exp_portable(rng.uniform(log_lo, log_hi));
    // Python's round() rounds half to even, as nearbyint does in the default rounding mode.
    const int w = static_cast<int>(std::nearbyint(std::sqrt(target_area * aspect)));
    const int h = static_cast<int>(std::nearbyint(std::sqrt(target_area / aspect)));
    if (0 < w && w <= width && 0 < h && h <= height) {
      CropBox b;
      b.height = h;
      b.width = w;
      b.top = static_cast<int>(rng.below(static_cast<uint32_t>(height - h + 1)));
      b.left = static_cast<int>(rng.below(static_cast<uint32_t>(width - w + 1)));
      return b;
    }
  }
  CropBox b;
  const double in_ratio = static_cast<double>(width) / height;
  if (in_ratio < ratio_min) {
    b.width = width;
    b.height = static_cast<int>(std::nearbyint(width / static_cast<double>(ratio_min)));
  } else if (in_ratio > ratio_max) {
    b.height = height;
    b.width = static_cast<int>(std::nearbyint(height * static_cast<double>(ratio_max)));
  } else {
    b.width = width;
    b.height = height;
  }
  b.top = (height - b.height) / 2;
  b.left = (width - b.width) / 2;
  return b;
}

Image transform_image(const Image& img, const ImageTransformSpec& spec, bool train, Rng& rng) {
  Image base = spec.resize > 0 ? resize_shorter_side(img, spec.resize) : img;
  if (!train) return center_crop(base, spec.crop, spec.crop);
  const CropBox box = random_resized_crop_box(base.height, base.width, spec.scale_min, spec.scale_max,
                                              spec.ratio_min, spec.ratio_max, rng);
  Image out = crop_image(base, box.top, box.left, box.height, box.width);
  if (out.width != spec.crop || out.height != spec.crop) out = resize_image(out, spec.crop, spec.crop);
  // Drawn even when flip_prob is 0 or 1, so changing it never shifts later draws of the same sample.
  if (rng.uniform() < spec.flip_prob) out = flip_horizontal(out);
  return out;
}

void transform_to_chw(const Image& img, const ImageTransformSpec& spec, bool train, Rng& rng, float* out) {
  image_to_chw(transform_image(img, spec, train, rng), spec.mean, spec.std, out, spec.bgr255);
}

}  // namespace prism
