// libFuzzer target: image decoding (decode_image_memory) and the start-up probe (probe_image_file): a
// rejection names its reason and a file that decodes is never rejected (data damaged mid-file may pass the
// probe; loading reports it). prism::Error is the expected outcome of bad input.
#include "fuzz_util.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bool decoded = false;
  try {
    const prism::Image img = prism::decode_image_memory(data, size, "fuzz.img");
    if (img.pixels.size() != static_cast<size_t>(img.width) * img.height * 3) __builtin_trap();
    decoded = true;
  } catch (const prism::Error&) {
  }
  const std::string path = prism::fuzz::write_scratch("in.img", prism::fuzz::bytes_of(data, size));
  std::string why;
  const bool probed = prism::probe_image_file(path, nullptr, nullptr, &why);
  if (!probed && why.empty()) __builtin_trap();  // a rejection always says why
  if (decoded && !probed) __builtin_trap();      // the probe never rejects a file that decodes
  return 0;
}
