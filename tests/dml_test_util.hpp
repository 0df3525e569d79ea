// Helpers shared by the DML tests: random unit embeddings, bitwise comparison with the first differing
// element, and running the built prism binary.
#pragma once
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "prism/core/random.hpp"
#include "prism/core/tensor.hpp"

namespace dmltest {

inline std::vector<float> random_unit_rows(int64_t rows, int64_t dim, uint64_t seed) {
  prism::Rng rng(seed, prism::RngStream::test);
  std::vector<float> v(rows * dim);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t j = 0; j < dim; ++j) {
      v[r * dim + j] = rng.uniform(-1.0f, 1.0f);
      ss += double(v[r * dim + j]) * v[r * dim + j];
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(ss));
    for (int64_t j = 0; j < dim; ++j) v[r * dim + j] *= inv;
  }
  return v;
}

inline std::vector<int32_t> random_labels(int64_t n, int32_t classes, uint64_t seed) {
  prism::Rng rng(seed, prism::RngStream::test);
  std::vector<int32_t> y(n);
  for (auto& l : y) l = static_cast<int32_t>(rng.below(static_cast<uint32_t>(classes)));
  return y;
}

// Index of the first element whose bits differ, or -1.
inline int64_t first_bit_difference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return static_cast<int64_t>(i);
  return -1;
}

#define REQUIRE_BITWISE_EQUAL(what, a, b)                                                               \
  do {                                                                                                  \
    const auto& va_ = (a);                                                                              \
    const auto& vb_ = (b);                                                                              \
    const int64_t at_ = dmltest::first_bit_difference(va_, vb_);                                        \
    INFO(what << ": sizes " << va_.size() << " / " << vb_.size() << ", first differing element " << at_ \
              << (at_ >= 0 && size_t(at_) < va_.size() && size_t(at_) < vb_.size()                      \
                      ? (": " + std::to_string(va_[at_]) + " vs " + std::to_string(vb_[at_]))           \
                      : std::string()));                                                                \
    REQUIRE(at_ == -1);                                                                                 \
  } while (0)

struct RunResult {
  int code = -1;
  std::string out;  // stdout and stderr together
};

// Runs a shell command line; captures stdout and stderr together.
inline RunResult run_shell(const std::string& command) {
  RunResult r;
  const std::string cmd = command + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, got);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs the prism binary with the given argument string (shell-quoted by the caller).
inline RunResult run_prism(const std::string& args) {
  return run_shell(std::string("\"") + PRISM_BINARY_PATH + "\" " + args);
}

}  // namespace dmltest
