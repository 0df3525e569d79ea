// libFuzzer target: the safetensors parser (parse_safetensors) and its typed getters. prism::Error is the
// expected outcome of bad input; anything else is a finding.
#include "fuzz_util.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const prism::SafeTensors st =
        prism::parse_safetensors(prism::fuzz::bytes_of(data, size), "fuzz.safetensors");
    for (const auto& [name, t] : st.tensors) {
      switch (t.dtype) {
        case prism::StDType::F32:
          st.get_f32(name);
          break;
        case prism::StDType::I32:
          st.get_i32(name);
          break;
        case prism::StDType::I64:
          st.get_i64(name);
          break;
        case prism::StDType::U8:
          st.get_u8(name);
          break;
        case prism::StDType::F64:
        case prism::StDType::F16:
        case prism::StDType::BF16:
          st.get_as_f32(name);
          break;
      }
    }
    // What was read writes back and reads again.
    prism::parse_safetensors(prism::safetensors_bytes(st), "roundtrip.safetensors");
  } catch (const prism::Error&) {
  }
  return 0;
}
