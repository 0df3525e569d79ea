// libFuzzer target: the CUB-200-2011 (images.txt + image_class_labels.txt) and Stanford Online Products
// (Ebay_train.txt + Ebay_test.txt) metadata readers. The input is the first file, a NUL byte, then the
// second; both datasets read the same pair. prism::Error is the expected outcome of bad input.
#include "fuzz_util.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/datasets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = prism::fuzz::split_parts(prism::fuzz::bytes_of(data, size), 2);
  prism::fuzz::write_scratch("images.txt", parts[0]);
  prism::fuzz::write_scratch("image_class_labels.txt", parts[1]);
  prism::fuzz::write_scratch("Ebay_train.txt", parts[0]);
  prism::fuzz::write_scratch("Ebay_test.txt", parts[1]);
  const std::string root = prism::fuzz::scratch_dir().string();
  try {
    prism::read_cub200(root);
  } catch (const prism::Error&) {
  }
  try {
    prism::read_sop(root);
  } catch (const prism::Error&) {
  }
  return 0;
}
