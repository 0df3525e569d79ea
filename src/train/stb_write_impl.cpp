// The one translation unit that compiles stb_image_write (PNG encoding for the retrieval gallery).
// Third-party code: its own warnings are silenced here only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>
#pragma GCC diagnostic pop
