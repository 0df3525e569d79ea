// Image decode / resize / crop / flip / normalise (reference code; see image.hpp for the torchvision
// semantics).
#include "prism/data/image.hpp"

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"

namespace prism {

namespace {
std::string stbi_reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown reason";
}
}  // namespace

Image decode_image_memory(const uint8_t* bytes, size_t size, const std::string& name) {
  if (size > static_cast<size_t>(INT32_MAX)) throw Error(name + ": image file too large");
  int w = 0, h = 0, c = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> px(
      stbi_load_from_memory(bytes, static_cast<int>(size), &w, &h, &c, 3), stbi_image_free);
  if (!px) throw Error("cannot decode image '" + name + "': " + stbi_reason());
  Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  img.pixels.assign(px.get(), px.get() + static_cast<size_t>(w) * h * 3);
  return img;
}

Image decode_image_file(const std::string& path) {
  const std::string bytes = read_file(path);
  return decode_image_memory(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

bool probe_image_file(const std::string& path, int* width, int* height, std::string* why) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    if (why) *why = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  int w = 0, h = 0, c = 0;
  const int ok = stbi_info_from_file(f, &w, &h, &c);
  std::fclose(f);
  if (!ok || w <= 0 || h <= 0) {
    if (why) *why = "not a decodable image (" + stbi_reason() + ")";
    return false;
  }
  if (width) *width = w;
  if (height) *height = h;
  return true;
}

Image resize_image(const Image& img, int width, int height) {
  if (width <= 0 || height <= 0 || img.width <= 0 || img.height <= 0)
    throw Error("resize_image: bad size " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                " -> " + std::to_string(width) + "x" + std::to_string(height));
  Image out;
  out.width = width;
  out.height = height;
  out.channels = img.channels;
  out.pixels.resize(static_cast<size_t>(width) * height * img.channels);
  const int ok = stbir_resize_uint8_generic(
      img.pixels.data(), img.width, img.height, 0, out.pixels.data(), width, height, 0, img.channels,
      STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR, nullptr);
  if (!ok) throw Error("resize_image: stb_image_resize failed (out of memory?)");
  return out;
}

Image resize_shorter_side(const Image& img, int size) {
  if (size <= 0) throw Error("resize_shorter_side: size must be > 0, got " + std::to_string(size));
  const int w = img.width, h = img.height;
  if ((w <= h && w == size) || (h <= w && h == size)) return img;
  // Python: int(size * long / short), a true division of two ints, truncated.
  if (w < h) return resize_image(img, size, static_cast<int>(static_cast<double>(size) * h / w));
  return resize_image(img, static_cast<int>(static_cast<double>(size) * w / h), size);
}

Image crop_image(const Image& img, int top, int left, int h, int w) {
  if (h <= 0 || w <= 0) throw Error("crop_image: empty crop " + std::to_string(w) + "x" + std::to_string(h));
  Image out;
  out.width = w;
  out.height = h;
  out.channels = img.channels;
  out.pixels.assign(static_cast<size_t>(w) * h * img.channels, 0);
  for (int y = 0; y < h; ++y) {
    const int sy = top + y;
    if (sy < 0 || sy >= img.height) continue;
    const int x0 = std::max(0, -left), x1 = std::min(w, img.width - left);
    if (x1 <= x0) continue;
    std::memcpy(out.at(y, x0), img.at(sy, left + x0), static_cast<size_t>(x1 - x0) * img.channels);
  }
  return out;
}

Image center_crop(const Image& img, int h, int w) {
  const int top = static_cast<int>(std::nearbyint((img.height - h) / 2.0));
  const int left = static_cast<int>(std::nearbyint((img.width - w) / 2.0));
  return crop_image(img, top, left, h, w);
}

Image flip_horizontal(const Image& img) {
  Image out = img;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      std::memcpy(out.at(y, x), img.at(y, img.width - 1 - x), static_cast<size_t>(img.channels));
  return out;
}

void image_to_chw(const Image& img, const std::vector<float>& mean, const std::vector<float>& std,
                  float* out) {
  const size_t plane = static_cast<size_t>(img.width) * img.height;
  for (int c = 0; c < img.channels; ++c) {
    const float m = mean.size() == 1 ? mean[0] : mean.at(c);
    const float s = std.size() == 1 ? std[0] : std.at(c);
    float* dst = out + c * plane;
    for (size_t p = 0; p < plane; ++p) dst[p] = (img.pixels[p * img.channels + c] / 255.0f - m) / s;
  }
}

namespace {
void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}
}  // namespace

std::string encode_png(const Image& img) {
  std::string out;
  if (!stbi_write_png_to_func(append_bytes, &out, img.width, img.height, img.channels, img.pixels.data(),
                              img.width * img.channels))
    throw Error("encode_png: stb_image_write failed");
  return out;
}

std::string encode_jpeg(const Image& img, int quality) {
  std::string out;
  if (!stbi_write_jpg_to_func(append_bytes, &out, img.width, img.height, img.channels, img.pixels.data(),
                              quality))
    throw Error("encode_jpeg: stb_image_write failed");
  return out;
}

}  // namespace prism
