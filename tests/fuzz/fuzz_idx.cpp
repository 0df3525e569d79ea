// libFuzzer target: the IDX parser (parse_idx) on raw bytes, and read_idx through zlib on the same bytes
// written to a file (plain or gzip: gzread reads both). prism::Error is the expected outcome of bad input.
#include "fuzz_util.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const prism::IdxArray a = prism::parse_idx(std::vector<uint8_t>(data, data + size), "fuzz-idx", 0);
    size_t n = 1;
    for (int64_t d : a.dims) n *= static_cast<size_t>(d);
    if (a.data.size() != n) __builtin_trap();
  } catch (const prism::Error&) {
  }
  const std::string path = prism::fuzz::write_scratch("in-idx.gz", prism::fuzz::bytes_of(data, size));
  for (int dims : {1, 3}) {
    try {
      prism::read_idx(path, dims);
    } catch (const prism::Error&) {
    }
  }
  return 0;
}
