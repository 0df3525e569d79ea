// The runner of the kernel case table (reference test harness): executes a Case of tests/kernel_cases.hpp on
// any Backend& and compares two executions — bit for bit (exact) or by normalised MSE (fast). Header-only,
// for tests/test_parity.cpp, tests/test_cuda_emulator.cpp and tests/test_cuda.cpp.
//
// Every argument is allocated with kSlack guard words after it. `out` arguments start poisoned, `in` /
// `inout` ones hold the host's words. After the call the runner reports (Run::problems) a touched guard word
// (an out-of-bounds write), a modified `in` argument, an output element still holding the poison (never
// written) and, unless the case has special values, a non-finite f32 output (silent garbage).
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "kernel_cases.hpp"
#include "prism/core/runtime.hpp"
#include "prism/kernels/hd.hpp"

namespace prism::testing {

// Signalling NaNs: arithmetic quietens them, so an element still holding one was never written (or was copied
// from a place never written). Guards differ from the poison so the message can tell the two apart.
inline constexpr uint32_t kPoison = 0x7FA0DEADu;
inline constexpr uint32_t kGuardWord = 0x7FB0BEEFu;
inline constexpr int64_t kSlack = 16;

// The one NaN rule of every comparison: two f32 words match when their bits are equal or both are NaN. IEEE
// leaves the payload of a NaN result to the hardware (x86 0xffc00000, NVIDIA 0x7fffffff, vector units may
// keep either operand's); every other bit must match.
inline bool same_word(Kind kind, uint32_t a, uint32_t b) {
  if (a == b) return true;
  return kind == Kind::f32 && std::isnan(kern::bits_float(a)) && std::isnan(kern::bits_float(b));
}

// The same inputs for every backend: the default fill, then the case's init, from Philox (seed = case index).
inline Host make_inputs(const Case& c, size_t index) {
  InputRng rng(1000 + index, RngStream::test);
  Host h;
  for (const Arg& a : c.args) {
    std::vector<uint32_t> w(a.n, 0);
    if (a.kind == Kind::f32 && a.role != Role::out)
      for (auto& x : w) x = kern::float_bits(rng.uniform(-1.0f, 1.0f));
    h.words.push_back(std::move(w));
  }
  if (c.init) c.init(h, rng);
  return h;
}

// "C[12] = 1.5 (0x3fc00000), expected 1.50000012 (0x3fc00001)".
inline std::string describe_element(const Arg& a, int64_t j, uint32_t got, uint32_t want,
                                    const char* expected = "expected") {
  std::ostringstream os;
  os << a.name << "[" << j << "] = ";
  if (a.kind == Kind::f32)
    os << kern::bits_float(got) << " (0x" << std::hex << got << std::dec << "), " << expected << " "
       << kern::bits_float(want) << " (0x" << std::hex << want << ")";
  else
    os << int32_t(got) << ", " << expected << " " << int32_t(want);
  return os.str();
}

// One execution of a case: every argument's words afterwards, where it ran, and what went wrong.
struct Run {
  std::vector<std::vector<uint32_t>> words;
  std::string where;                  // "cpu, mode exact, 2 thread(s)"
  std::vector<std::string> problems;  // empty when the execution is sound
};

// Runs the case on `be` (named `name` in messages) in the current mode and thread count.
inline Run execute(const Case& c, const Host& host, Backend& be, const std::string& name) {
  Run run;
  run.where = name + ", mode " + mode_name(mode()) + ", " + std::to_string(num_threads()) + " thread(s)";
  struct Buffers {
    Backend& be;
    std::vector<void*> p;
    std::vector<size_t> bytes;
    ~Buffers() {
      for (size_t k = 0; k < p.size(); ++k) be.dealloc(p[k], bytes[k]);
    }
  } bufs{be, {}, {}};
  std::vector<uint32_t> staging;
  for (size_t k = 0; k < c.args.size(); ++k) {
    const Arg& a = c.args[k];
    staging.assign(a.n + kSlack, kGuardWord);
    if (a.role == Role::out)
      std::fill_n(staging.begin(), a.n, kPoison);
    else
      std::copy(host.words[k].begin(), host.words[k].end(), staging.begin());
    const size_t bytes = staging.size() * sizeof(uint32_t);
    bufs.p.push_back(be.alloc(bytes));
    bufs.bytes.push_back(bytes);
    be.upload(bufs.p[k], staging.data(), bytes);
  }
  c.run(be, Ptrs{bufs.p});
  be.synchronize();
  auto problem = [&](const std::string& what) {
    if (run.problems.size() < 8) run.problems.push_back(what);
  };
  for (size_t k = 0; k < c.args.size(); ++k) {
    const Arg& a = c.args[k];
    std::vector<uint32_t> all(a.n + kSlack);
    be.download(all.data(), bufs.p[k], bufs.bytes[k]);
    for (int64_t j = a.n; j < a.n + kSlack; ++j)
      if (all[j] != kGuardWord) {
        problem("guard word overwritten (write past the end): " +
                describe_element(a, j, all[j], kGuardWord, "guard"));
        break;
      }
    all.resize(a.n);
    for (int64_t j = 0; j < a.n; ++j) {
      const uint32_t w = all[j];
      if (a.role == Role::in) {
        if (w != host.words[k][j]) {
          problem("input modified: " + describe_element(a, j, w, host.words[k][j], "uploaded"));
          break;
        }
      } else if (w == kPoison) {
        problem("output never written: " + a.name + "[" + std::to_string(j) + "] still holds the poison");
        break;
      } else if (a.kind == Kind::f32 && !c.specials && !std::isfinite(kern::bits_float(w))) {
        std::ostringstream os;
        os << "non-finite output from finite inputs: " << a.name << "[" << j << "] = " << kern::bits_float(w)
           << " (0x" << std::hex << w << ")";
        problem(os.str());
        break;
      }
    }
    run.words.push_back(std::move(all));
  }
  return run;
}

// The first output element (out and inout arguments) where `got` and `want` differ under same_word, described
// with both values and bit patterns; empty when every output matches.
inline std::string first_difference(const Case& c, const Run& got, const Run& want) {
  for (size_t k = 0; k < c.args.size(); ++k) {
    const Arg& a = c.args[k];
    if (a.role == Role::in) continue;
    for (int64_t j = 0; j < a.n; ++j)
      if (!same_word(a.kind, got.words[k][j], want.words[k][j]))
        return "first differing element " + describe_element(a, j, got.words[k][j], want.words[k][j]);
  }
  return "";
}

// Normalised MSE Σ(a − b)² / Σ b² over the finite elements of one f32 output; +inf when a non-finite element
// differs in kind (NaN vs number, or infinities of different sign) or when b is all zeros and a is not.
inline double normalized_mse(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  double num = 0, den = 0;
  for (size_t j = 0; j < a.size(); ++j) {
    const double x = kern::bits_float(a[j]), y = kern::bits_float(b[j]);
    if (!std::isfinite(x) || !std::isfinite(y)) {
      if (!((std::isnan(x) && std::isnan(y)) || x == y)) return std::numeric_limits<double>::infinity();
      continue;
    }
    num += (x - y) * (x - y);
    den += y * y;
  }
  if (num == 0) return 0;
  return den > 0 ? num / den : std::numeric_limits<double>::infinity();
}

struct Closeness {
  double worst_nmse = 0;  // over the f32 outputs
  std::string problem;    // empty when within the budget
};

// f32 outputs within `tol` by normalised MSE (tol = 0: bit for bit under same_word), i32 outputs equal.
inline Closeness compare_close(const Case& c, const Run& got, const Run& want, double tol) {
  Closeness r;
  for (size_t k = 0; k < c.args.size() && r.problem.empty(); ++k) {
    const Arg& a = c.args[k];
    if (a.role == Role::in) continue;
    const auto &g = got.words[k], &w = want.words[k];
    int64_t first = -1;
    for (int64_t j = 0; j < a.n && first < 0; ++j)
      if (!same_word(a.kind, g[j], w[j])) first = j;
    if (first < 0) continue;
    if (a.kind == Kind::i32) {
      r.problem = "first differing element " + describe_element(a, first, g[first], w[first]);
      break;
    }
    const double e = normalized_mse(g, w);
    r.worst_nmse = std::max(r.worst_nmse, e);
    if (tol == 0 || e > tol) {
      std::ostringstream os;
      os << a.name << " nMSE " << e;
      if (tol == 0)
        os << " where bit-identical results are required";
      else
        os << " > tolerance " << tol;
      os << "; first differing element " << describe_element(a, first, g[first], w[first]);
      r.problem = os.str();
    }
  }
  return r;
}

}  // namespace prism::testing
