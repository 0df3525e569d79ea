// Image decode / resize / crop / flip / normalise (reference code; see image.hpp for the torchvision
// semantics).
#include "prism/data/image.hpp"

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "prism/core/checked.hpp"
#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"

namespace prism {

namespace {
std::string stbi_reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown reason";
}

// The container format from the magic bytes, independent of stb_image: when stb cannot decode a file it tries
// every format in turn and may report the last one tried ("Not a PNG" for a truncated JPEG).
std::string magic_format(const uint8_t* b, size_t n) {
  if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "JPEG";
  if (n >= 8 && std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) return "PNG";
  if (n >= 6 && (std::memcmp(b, "GIF87a", 6) == 0 || std::memcmp(b, "GIF89a", 6) == 0)) return "GIF";
  if (n >= 2 && b[0] == 'B' && b[1] == 'M') return "BMP";
  return "";
}

// stb_image 2.27 (Debian's) does not bound the code counts of a JPEG Huffman table (DHT): counts summing past
// 256 write beyond stbi__huffman::size[257] (found by tests/fuzz/fuzz_image). This walks the JPEG segments,
// skipping entropy-coded data (progressive files have DHT segments between scans), and returns false when a
// table is over-full. A walk that runs out of data accepts (stb reports truncation itself).
// Where the data after the SOI marker starts when stb_image would decode the bytes as JPEG (it accepts SOI
// after any number of FF fill bytes, without the FF of a first marker), or 0 when it would not.
size_t jpeg_start(const uint8_t* b, size_t n) {
  size_t i = 0;
  while (i < n && b[i] == 0xFF) ++i;
  return i >= 1 && i < n && b[i] == 0xD8 ? i + 1 : 0;
}

bool jpeg_huffman_tables_ok(const uint8_t* b, size_t n) {
  size_t i = jpeg_start(b, n);
  if (i == 0) return true;  // not decoded as JPEG
  while (i + 1 < n) {
    if (b[i] != 0xFF) {  // entropy-coded data: skip to the next marker that is not a stuffed byte or RSTn
      ++i;
      continue;
    }
    const uint8_t m = b[i + 1];
    if (m == 0x00 || m == 0xFF || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {
      i += m == 0xFF ? 1 : 2;
      continue;
    }
    if (m == 0xD9) return true;  // EOI
    if (i + 3 >= n) return true;
    const size_t len = (size_t(b[i + 2]) << 8) | b[i + 3];
    if (m == 0xC4) {
      // As stb reads it: tables follow while the segment length says bytes remain, each read in full even
      // past the segment's end (bytes past the end of the data read as 0), and the next marker is looked for
      // where the last table ended.
      long remaining = static_cast<long>(len) - 2;
      size_t p = i + 4;
      while (remaining > 0) {
        size_t count = 0;
        for (size_t k = p + 1; k <= p + 16 && k < n; ++k) count += b[k];
        if (count > 256) return false;
        if (p + 17 > n) return true;
        p += 17 + count;
        remaining -= static_cast<long>(17 + count);
      }
      i = p;
      continue;
    }
    i += 2 + len;
  }
  return true;
}

// stb_image 2.27 grows its buffer of PNG image data to a chunk's declared length before reading it, so a
// 187-byte file whose IDAT chunk claims 1 GB made it allocate 2 GB (an out-of-memory of tests/fuzz/fuzz_image).
// This walks the chunks (length, type, data, CRC) up to IEND and returns false when one claims more bytes than
// the file of `size` bytes has left; a file that ends between chunks is left to stb, which reports it.
// read_head(at, head) reads the 8 bytes (length, type) at offset `at` and returns false where there are not 8:
// from memory for decode, with seeks for the start-up probe — one rule for both.
template <class ReadHead>
bool png_chunk_lengths_fit(uint64_t size, ReadHead&& read_head) {
  uint8_t head[8];
  for (uint64_t at = 8; read_head(at, head);) {
    const uint64_t len =
        (uint64_t(head[0]) << 24) | (uint64_t(head[1]) << 16) | (uint64_t(head[2]) << 8) | head[3];
    if (len > size - at - 8 || size - at - 8 - len < 4) return false;  // data and CRC must be in the file
    if (std::memcmp(head + 4, "IEND", 4) == 0) return true;
    at += 12 + len;
  }
  return true;
}

bool png_chunks_fit(const uint8_t* b, size_t n) {
  if (n < 8 || std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0) return true;
  return png_chunk_lengths_fit(n, [&](uint64_t at, uint8_t* head) {
    if (at > n || n - at < 8) return false;
    std::memcpy(head, b + at, 8);
    return true;
  });
}

// stb_image 2.27's info call reports a top-down BMP's height as negative (its header's sign), while decoding
// returns the size itself; the size checks and the probe need the size (found by tests/fuzz/fuzz_image: a
// 54-byte BMP of 186 x -65532 passed the checks, then decoded 12 M pixels from zeros, and the probe rejected
// it as a bad header — as it did every top-down BMP). INT_MIN becomes INT_MAX, which the limit refuses.
void absolute_size(int* w, int* h) {
  for (int* v : {w, h})
    if (*v < 0) *v = *v == INT_MIN ? INT_MAX : -*v;
}

// Images larger than this are refused before decoding: a header of a few bytes can claim 65535 x 65535
// pixels, and stb_image would allocate gigabytes for it (found by tests/fuzz/fuzz_image). 2^25 pixels (33.5
// MP) is far beyond the images of any metric-learning benchmark.
constexpr int64_t kMaxPixels = int64_t(1) << 25;

// Why a header is refused by claims_more_than_fits (decode and probe give the same reason).
std::string more_than_fits(const std::string& format, int w, int h, size_t size) {
  return "truncated " + format + " data (the header says " + std::to_string(w) + " x " + std::to_string(h) +
         " pixels, more than " + std::to_string(size) + " bytes can hold)";
}

std::string too_large(int w, int h) {
  return "image of " + std::to_string(w) + " x " + std::to_string(h) +
         " pixels is larger than the limit of " + std::to_string(kMaxPixels) + " pixels";
}

// stb_image decodes a short file as if zeros followed it, so a 58-byte BMP whose header claims 14 614 530 x 2
// pixels (under kMaxPixels) made it read 87 MB of nothing, for seconds, and a 299-byte run-length TGA claiming
// 65496 x 224 did the same (timeouts of tests/fuzz/fuzz_image under ASan). A header is therefore refused when
// it claims more pixels than a file of this size could hold in its format at best (BMP: exactly; the others
// with a margin of 2 to 16 over the best case of their coding), plus 2^20 pixels that any file may claim, so
// no complete file is refused.
double max_pixels_per_byte(const std::string& format) {
  if (format == "BMP") return 8;      // stored uncompressed by the writers stb reads; down to 1 bit a pixel
  if (format == "JPEG") return 4096;  // at best ~2 bits per 8 x 8 block (a flat grey JPEG): 256 a byte
  if (format == "PNG") return 16384;  // deflate expands at most 1032 : 1, a pixel is at least 1 bit: 8256
  if (format == "GIF") return 8192;   // LZW: a code of >= 9 bits stands for <= 4096 pixels: 3641
  return 128;  // TGA (the one format stb accepts without a magic number): runs of <= 128 per >= 2 bytes
}

bool claims_more_than_fits(const std::string& format, int w, int h, size_t size) {
  return static_cast<double>(w) * h >
         max_pixels_per_byte(format) * static_cast<double>(size) + static_cast<double>(1 << 20);
}

// Why a file could not be decoded, naming its real format.
std::string decode_failure(const uint8_t* b, size_t n) {
  const std::string format = magic_format(b, n);
  const std::string reason = stbi_reason();
  if (format.empty()) return "not an image in a supported format (" + reason + ")";
  // stb's reason only helps when it is about this format.
  const bool relevant = reason.find(format) != std::string::npos;
  return "corrupt or truncated " + format + " data" + (relevant ? " (" + reason + ")" : "");
}

// True when the file ends the way a complete file of its format must: JPEG with the EOI marker FF D9, PNG
// with the IEND chunk. A little slack after the marker is allowed (some writers pad files). Files that do not
// pass this are decoded in full by the probe, so an unusual but valid file is still accepted.
bool has_format_trailer(const std::string& format, const std::string& tail) {
  if (format == "JPEG") {
    for (size_t i = tail.size(); i >= 2; --i)
      if (static_cast<uint8_t>(tail[i - 2]) == 0xFF && static_cast<uint8_t>(tail[i - 1]) == 0xD9) return true;
    return false;
  }
  if (format == "PNG") return tail.find(std::string("IEND\xAE\x42\x60\x82", 8)) != std::string::npos;
  return false;
}
}  // namespace

Image decode_image_memory(const uint8_t* bytes, size_t size, const std::string& name) {
  if (size > static_cast<size_t>(INT32_MAX)) throw Error(name + ": image file too large");
  if (!jpeg_huffman_tables_ok(bytes, size))
    throw Error("cannot decode image '" + name +
                "': corrupt JPEG data (a Huffman table holds more than 256 codes)");
  if (!png_chunks_fit(bytes, size))
    throw Error("cannot decode image '" + name +
                "': truncated PNG data (a chunk claims more bytes than the file has left)");
  int w = 0, h = 0, c = 0;
  if (stbi_info_from_memory(bytes, static_cast<int>(size), &w, &h, &c)) {
    absolute_size(&w, &h);
    if (int64_t(w) * h > kMaxPixels) throw Error("cannot decode image '" + name + "': " + too_large(w, h));
    const std::string magic = magic_format(bytes, size), format = magic.empty() ? "TGA" : magic;
    if (claims_more_than_fits(format, w, h, size))
      throw Error("cannot decode image '" + name + "': " + more_than_fits(format, w, h, size));
  }
  std::unique_ptr<stbi_uc, void (*)(void*)> px(
      stbi_load_from_memory(bytes, static_cast<int>(size), &w, &h, &c, 3), stbi_image_free);
  if (!px) throw Error("cannot decode image '" + name + "': " + decode_failure(bytes, size));
  // stb_image returns pixels for a BMP whose header says width 0 (found by tests/fuzz/fuzz_image); an image
  // with no pixels would reach the crops as an empty tensor.
  if (w <= 0 || h <= 0)
    throw Error("cannot decode image '" + name + "': the header says " + std::to_string(w) + "x" +
                std::to_string(h) + " pixels");
  Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  img.pixels.assign(px.get(), px.get() + checked_bytes({h, w}, 3, name));
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
  // stb_image reads the JPEG tables before the frame header: check them first (see jpeg_huffman_tables_ok).
  // The first 1 MiB holds the header of any ordinary file; a longer one is checked whole.
  {
    std::string head(size_t(1) << 20, '\0');
    head.resize(std::fread(head.data(), 1, head.size(), f));
    const auto* hb = reinterpret_cast<const uint8_t*>(head.data());
    if (jpeg_start(hb, head.size()) != 0) {
      bool ok_tables = jpeg_huffman_tables_ok(hb, head.size());
      if (ok_tables && head.size() == (size_t(1) << 20)) {
        std::fclose(f);
        f = nullptr;
        const std::string all = read_file(path);
        ok_tables = jpeg_huffman_tables_ok(reinterpret_cast<const uint8_t*>(all.data()), all.size());
        f = std::fopen(path.c_str(), "rb");
        if (!f) {
          if (why) *why = std::string("cannot open: ") + std::strerror(errno);
          return false;
        }
      }
      if (!ok_tables) {
        std::fclose(f);
        if (why) *why = "corrupt JPEG data (a Huffman table holds more than 256 codes)";
        return false;
      }
    }
    std::fseek(f, 0, SEEK_SET);
  }
  int w = 0, h = 0, c = 0;
  const int ok = stbi_info_from_file(f, &w, &h, &c);
  absolute_size(&w, &h);
  // The header alone passes for a truncated file; the format's end marker (or, failing that, a full decode)
  // tells, so that a damaged image is reported at start-up and not at the final evaluation.
  uint8_t magic[8] = {};
  std::string tail(256, '\0');
  std::fseek(f, 0, SEEK_SET);
  const size_t magic_n = std::fread(magic, 1, sizeof magic, f);
  long size = -1;
  if (std::fseek(f, 0, SEEK_END) == 0) size = std::ftell(f);
  if (size > 0) {
    const long keep = std::min<long>(size, static_cast<long>(tail.size()));
    std::fseek(f, size - keep, SEEK_SET);
    tail.resize(std::fread(tail.data(), 1, static_cast<size_t>(keep), f));
  } else {
    tail.clear();
  }
  const std::string format = magic_format(magic, magic_n);
  // A PNG's chunk lengths (the rule png_chunks_fit applies in memory), read with seeks: a bad one would only
  // fail when the image is first loaded, mid-run.
  bool chunks_fit = true;
  if (format == "PNG" && size > 0)
    chunks_fit = png_chunk_lengths_fit(static_cast<uint64_t>(size), [&](uint64_t at, uint8_t* head) {
      return at <= static_cast<uint64_t>(LONG_MAX) && std::fseek(f, static_cast<long>(at), SEEK_SET) == 0 &&
             std::fread(head, 1, 8, f) == 8;
    });
  std::fclose(f);
  if (!chunks_fit) {
    if (why) *why = "truncated PNG data (a chunk claims more bytes than the file has left)";
    return false;
  }
  if (!ok || w <= 0 || h <= 0) {
    if (why)
      *why = format.empty() ? "not a decodable image (" + stbi_reason() + ")"
                            : "corrupt or truncated " + format + " header";
    return false;
  }
  if (int64_t(w) * h > kMaxPixels) {
    if (why) *why = too_large(w, h);
    return false;
  }
  const std::string coded = format.empty() ? "TGA" : format;
  if (claims_more_than_fits(coded, w, h, static_cast<size_t>(size > 0 ? size : 0))) {
    if (why) *why = more_than_fits(coded, w, h, static_cast<size_t>(size > 0 ? size : 0));
    return false;
  }
  if (!has_format_trailer(format, tail)) {
    try {
      decode_image_file(path);
    } catch (const Error& e) {
      if (why) {
        // e.what() is "cannot decode image '<path>': <reason>"; the caller names the path itself.
        const std::string msg = e.what();
        const size_t k = msg.find("': ");
        *why = k == std::string::npos ? msg : msg.substr(k + 3);
      }
      return false;
    }
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

void image_to_chw(const Image& img, const std::vector<float>& mean, const std::vector<float>& std, float* out,
                  bool bgr255) {
  const size_t plane = static_cast<size_t>(img.width) * img.height;
  for (int c = 0; c < img.channels; ++c) {
    const float m = mean.size() == 1 ? mean[0] : mean.at(c);
    const float s = std.size() == 1 ? std[0] : std.at(c);
    float* dst = out + c * plane;
    if (bgr255) {  // output plane c holds source channel C−1−c, unscaled
      const int src = img.channels - 1 - c;
      for (size_t p = 0; p < plane; ++p) dst[p] = (float(img.pixels[p * img.channels + src]) - m) / s;
    } else {
      for (size_t p = 0; p < plane; ++p) dst[p] = (img.pixels[p * img.channels + c] / 255.0f - m) / s;
    }
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
