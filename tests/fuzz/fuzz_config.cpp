// libFuzzer target: config YAML (apply_yaml_text), then a NUL byte and one --set KEY=VALUE per line
// (apply_override), then validation; a valid config must write back (config_to_yaml) to YAML that loads
// again. prism::Error is the expected outcome of bad input.
#include "fuzz_util.hpp"
#include "prism/core/runtime.hpp"
#include "prism/train/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = prism::fuzz::split_parts(prism::fuzz::bytes_of(data, size), 2);
  prism::Config c;
  std::vector<std::string> warnings;
  try {
    prism::apply_yaml_text(c, parts[0], "fuzz.yaml", &warnings);
    size_t pos = 0;
    while (pos < parts[1].size()) {
      size_t end = parts[1].find('\n', pos);
      if (end == std::string::npos) end = parts[1].size();
      prism::apply_override(c, parts[1].substr(pos, end - pos));
      pos = end + 1;
    }
    prism::validate_config(c);
  } catch (const prism::Error&) {
    return 0;
  }
  prism::Config again;
  try {
    prism::apply_yaml_text(again, prism::config_to_yaml(c), "roundtrip.yaml", nullptr);
  } catch (const prism::Error&) {
    __builtin_trap();  // our own output must read back
  }
  return 0;
}
