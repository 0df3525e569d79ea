// libFuzzer target: PRISM CSV lists (parse_image_list) and the noise flags from a cleaned twin
// (noise_flags_from_cleaned). The input is the noisy list, a NUL byte, then the cleaned list.
// prism::Error is the expected outcome of bad input.
#include "fuzz_util.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/list.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = prism::fuzz::split_parts(prism::fuzz::bytes_of(data, size), 2);
  try {
    const prism::ImageList noisy = prism::parse_image_list(parts[0], "noisy.csv");
    // What we write reads back the same.
    const prism::ImageList back = prism::parse_image_list(prism::image_list_text(noisy), "back.csv");
    if (back.paths != noisy.paths || back.labels != noisy.labels) __builtin_trap();
    const prism::ImageList cleaned = prism::parse_image_list(parts[1], "cleaned.csv");
    const auto flags = prism::noise_flags_from_cleaned(noisy, cleaned, "cleaned.csv");
    size_t clean = 0;
    for (uint8_t f : flags) clean += f == 0;
    if (flags.size() != noisy.size() || clean != cleaned.size()) __builtin_trap();  // one match per entry
  } catch (const prism::Error&) {
  }
  return 0;
}
