// 8-bit RGB images on the host and the geometric primitives of the augmentation pipeline: decode (stb_image,
// JPEG/PNG/BMP/GIF…, grayscale expanded to 3 channels), resize (stb_image_resize, triangle filter = PIL's
// antialiased bilinear), crop with zero padding, horizontal flip, and conversion to a normalised CHW float
// block. Reference code, deterministic: the same input always gives the same bytes (no threads, no randomness
// here).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace prism {

struct Image {
  int width = 0, height = 0, channels = 3;
  std::vector<uint8_t> pixels;  // HWC, row-major
  uint8_t* at(int y, int x) { return pixels.data() + (static_cast<size_t>(y) * width + x) * channels; }
  const uint8_t* at(int y, int x) const {
    return pixels.data() + (static_cast<size_t>(y) * width + x) * channels;
  }
};

// Decodes a file (JPEG, PNG, BMP, GIF, TGA) to 3-channel RGB. Throws prism::Error naming the file and
// stb_image's reason when it is missing or cannot be decoded (also for truncated data).
Image decode_image_file(const std::string& path);
Image decode_image_memory(const uint8_t* bytes, size_t size, const std::string& name);

// True (with the size) when the file is an image stb_image can decode: the header is read, and the end of the
// file must hold its format's end marker (JPEG EOI, PNG IEND) — files without one (truncated, or formats
// without a marker) are decoded in full — so a truncated image is caught here, not when it is first loaded.
bool probe_image_file(const std::string& path, int* width = nullptr, int* height = nullptr,
                      std::string* why = nullptr);

// Resizes to exactly width × height (triangle filter, clamped edges, values treated as linear like PIL does).
Image resize_image(const Image& img, int width, int height);

// torchvision's Resize(size) with an int: the shorter side becomes `size`, the longer one
// int(size * long / short); an image whose shorter side already equals `size` is returned unchanged.
Image resize_shorter_side(const Image& img, int size);

// Rows [top, top + h) and columns [left, left + w); parts outside the image are zero (torchvision pads the
// same way in CenterCrop when the crop is larger than the image).
Image crop_image(const Image& img, int top, int left, int h, int w);

// torchvision's CenterCrop: top = round((H - h) / 2), left = round((W - w) / 2), rounding half to even.
Image center_crop(const Image& img, int h, int w);

Image flip_horizontal(const Image& img);

// Writes (pixel / 255 - mean[c]) / std[c] as planar CHW floats into out[channels * height * width]; with
// bgr255, plane c is (pixel of channel C−1−c − mean[c]) / std[c] (B, G, R at 0–255: BN-Inception's input).
// mean/std hold one value per channel (a single value is used for every channel).
void image_to_chw(const Image& img, const std::vector<float>& mean, const std::vector<float>& std, float* out,
                  bool bgr255 = false);

// Encodes PNG bytes (stb_image_write), for fixtures and reports.
std::string encode_png(const Image& img);
std::string encode_jpeg(const Image& img, int quality = 90);

}  // namespace prism
