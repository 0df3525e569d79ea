// The one translation unit that compiles stb_image and stb_image_resize (decoding and resizing for the image
// datasets); stb_image_write is compiled once in src/train/stb_write_impl.cpp. Every other file includes the
// headers only. Third-party code: its warnings are silenced here, not fixed.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#if !defined(__clang__)  // a GCC-only warning: clang reports the unknown group instead
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma GCC diagnostic ignored "-Wdouble-promotion"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
// The photo formats only (docs/data.md): PSD, HDR, Softimage PIC and PNM are not dataset formats, and each
// decoder left out is one parser less for untrusted files (src/data/image.cpp bounds the others' claimed sizes).
// PNM went when tests/fuzz/fuzz_image found 2.27's 16-bit PGM path reading past its buffer (ASan).
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_ONLY_TGA
#include <stb_image.h>

#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>

#pragma GCC diagnostic pop
