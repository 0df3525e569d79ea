// The official PRISM image transforms (torchvision semantics), configurable. Reference code.
//   train: Resize(resize) (shorter side) → RandomResizedCrop(crop, scale, ratio) →
//   RandomHorizontalFlip(flip_prob)
//          → ToTensor → Normalize(mean, std)          (bgr255: ToTensor · 255, channels reversed)
//   test:  Resize(resize) → CenterCrop(crop) → ToTensor → Normalize(mean, std)
// Every random choice comes from the Rng passed in (one Philox sub-stream per sample draw), so a sample's
// augmentation depends only on (seed, draw id), never on which thread ran it.
#pragma once
#include <vector>

#include "prism/core/random.hpp"
#include "prism/data/image.hpp"

namespace prism {

struct ImageTransformSpec {
  int resize = 256;  // INPUT.ORIGIN_SIZE: shorter side before cropping (0 = keep the size)
  int crop = 224;    // INPUT.CROP_SIZE: square output side
  float scale_min = 0.2f, scale_max = 1.0f;                // INPUT.CROP_SCALE: area fraction of the crop
  float ratio_min = 3.0f / 4.0f, ratio_max = 4.0f / 3.0f;  // INPUT.CROP_RATIO: aspect ratio w/h of the crop
  float flip_prob = 0.5f;                                  // INPUT.FLIP_PROB
  std::vector<float> mean{0.485f, 0.456f, 0.406f};         // INPUT.PIXEL_MEAN (ImageNet)
  std::vector<float> std{0.229f, 0.224f, 0.225f};          // INPUT.PIXEL_STD (ImageNet)
  bool bgr255 = false;    // INPUT.MODE BGR: channels B, G, R with values 0–255 (not 0–1) before Normalize
  void validate() const;  // throws naming the INPUT.* key
};

struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
};

// torchvision RandomResizedCrop.get_params: up to 10 tries of (area fraction ~ U(scale), log aspect ratio
// ~ U(log ratio)), w = round(sqrt(area·ratio)), h = round(sqrt(area/ratio)), accepted when it fits, then a
// uniform position; otherwise the central crop clamped to the ratio range. Draw order per try: scale, ratio
// (and, on success, top then left). exp/log are the portable ones, so the geometry is the same on every
// platform.
CropBox random_resized_crop_box(int height, int width, float scale_min, float scale_max, float ratio_min,
                                float ratio_max, Rng& rng);

// The uint8 result of the geometric part (before normalisation); `train` selects the random pipeline.
Image transform_image(const Image& img, const ImageTransformSpec& spec, bool train, Rng& rng);

// Full pipeline into out[3 * crop * crop] (planar CHW, normalised).
void transform_to_chw(const Image& img, const ImageTransformSpec& spec, bool train, Rng& rng, float* out);

}  // namespace prism
