// Helpers shared by the libFuzzer targets (tests/fuzz, built with -DPRISM_FUZZ=ON): splitting one input into
// several files and writing them into a per-process temp directory for the readers that take paths. Test
// code.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace prism::fuzz {

inline std::string bytes_of(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Splits at NUL bytes into at most `parts` pieces (the last keeps any further NULs), so one input can
// describe two files (a list and its cleaned twin, images.txt and image_class_labels.txt).
inline std::vector<std::string> split_parts(const std::string& s, size_t parts) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (out.size() + 1 < parts) {
    const size_t k = s.find('\0', pos);
    if (k == std::string::npos) break;
    out.push_back(s.substr(pos, k - pos));
    pos = k + 1;
  }
  out.push_back(s.substr(pos));
  while (out.size() < parts) out.emplace_back();
  return out;
}

// One directory per fuzzing process, reused by every input (files are overwritten, never accumulated).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto p = std::filesystem::temp_directory_path() / ("prism_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(p);
    return p;
  }();
  return dir;
}

inline std::string write_scratch(const std::string& name, const std::string& bytes) {
  const std::string path = (scratch_dir() / name).string();
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

}  // namespace prism::fuzz
