// libFuzzer target: the .npy parser (parse_npy) and the typed readers on top of it. A prism::Error is the
// expected outcome of bad input; anything else (crash, sanitizer report, other exception) is a finding.
#include <cstring>

#include "fuzz_util.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = prism::fuzz::bytes_of(data, size);
  try {
    const prism::NpyArray a = prism::parse_npy(bytes, "fuzz.npy");
    // A parsed array always holds exactly the bytes its shape needs.
    const size_t item = a.type == prism::NpyType::u8                                       ? 1
                        : (a.type == prism::NpyType::f32 || a.type == prism::NpyType::i32) ? 4
                                                                                           : 8;
    if (a.data.size() != static_cast<size_t>(a.numel()) * item) __builtin_trap();
  } catch (const prism::Error&) {
  }
  // The path readers add the matrix / label checks.
  const std::string path = prism::fuzz::write_scratch("in.npy", bytes);
  try {
    const prism::NpyMatrix m = prism::read_npy_f32_matrix(path);
    if (m.values.size() != static_cast<size_t>(m.rows * m.cols)) __builtin_trap();
  } catch (const prism::Error&) {
  }
  try {
    prism::read_npy_labels(path);
  } catch (const prism::Error&) {
  }
  return 0;
}
