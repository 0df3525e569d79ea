// Tests of the portable exp/log of exact mode (kernels/pmath.hpp, reference): error in float ulps against the
// correctly rounded result over a dense sweep of every float bit pattern (an odd stride through all 2^32
// patterns, plus exhaustive sweeps of the edges: subnormal results / inputs, overflow, the neighbourhood of
// 1), and the special values. Set PRISM_PMATH_FULL=1 to sweep all 2^32 inputs (about a minute of CPU each;
// run by hand).
//
// Reference: double std::exp / std::log of the float input, rounded to float. glibc's double exp/log are
// accurate to well under one double ulp, so the float rounding of it is the correctly rounded float except
// when the true value lies within ~2^-29 float ulps of a rounding boundary — astronomically rare.
#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "prism/kernels/pmath.hpp"

using prism::kern::bits_float;
using prism::kern::exp_portable;
using prism::kern::float_bits;
using prism::kern::log_portable;

namespace {

// Float bit patterns mapped to a line on which adjacent floats differ by 1 (−0 and +0 coincide, inf is one
// step beyond FLT_MAX), so the distance of two non-NaN floats in ulps is a subtraction.
int64_t ordered(float x) {
  const uint32_t u = float_bits(x);
  return (u >> 31) ? -static_cast<int64_t>(u & 0x7fffffffu) : static_cast<int64_t>(u);
}
int64_t ulp_distance(float a, float b) {
  return std::llabs(ordered(a) - ordered(b));
}

struct Sweep {
  int64_t max_ulp = 0;
  uint32_t worst_bits = 0;
  uint64_t checked = 0, inexact = 0;  // inexact: not the correctly rounded float
  uint64_t nan_mismatch = 0;
  uint32_t nan_bits = 0;
  void merge(const Sweep& o) {
    if (o.max_ulp > max_ulp) max_ulp = o.max_ulp, worst_bits = o.worst_bits;
    if (o.nan_mismatch && !nan_mismatch) nan_bits = o.nan_bits;
    checked += o.checked, inexact += o.inexact, nan_mismatch += o.nan_mismatch;
  }
};

enum class Fn { exp, log };

float eval(Fn f, float x) {
  return f == Fn::exp ? exp_portable(x) : log_portable(x);
}
float reference(Fn f, float x) {
  return static_cast<float>(f == Fn::exp ? std::exp(static_cast<double>(x))
                                         : std::log(static_cast<double>(x)));
}

// Every bit pattern first + i·stride < end (patterns as 64-bit so the range may reach 2^32).
Sweep sweep(Fn f, uint64_t first, uint64_t end, uint64_t stride) {
  const uint64_t count = (end - first + stride - 1) / stride;
  return tbb::parallel_reduce(
      tbb::blocked_range<uint64_t>(0, count, 1 << 16), Sweep{},
      [&](const tbb::blocked_range<uint64_t>& r, Sweep acc) {
        for (uint64_t i = r.begin(); i < r.end(); ++i) {
          const uint32_t u = static_cast<uint32_t>(first + i * stride);
          const float x = bits_float(u);
          const float got = eval(f, x), want = reference(f, x);
          ++acc.checked;
          if (std::isnan(want) || std::isnan(got)) {
            if (std::isnan(want) != std::isnan(got) && !acc.nan_mismatch++) acc.nan_bits = u;
            continue;
          }
          const int64_t d = ulp_distance(got, want);
          acc.inexact += d != 0;
          if (d > acc.max_ulp) acc.max_ulp = d, acc.worst_bits = u;
        }
        return acc;
      },
      [](Sweep a, const Sweep& b) {
        a.merge(b);
        return a;
      });
}

void report_and_check(const char* name, const Sweep& s, int64_t max_ulp_allowed) {
  const float worst = bits_float(s.worst_bits);
  INFO(name << ": " << s.checked << " inputs, max error " << s.max_ulp << " ulp at x = " << worst
            << " (bits 0x" << std::hex << s.worst_bits << std::dec << "), " << s.inexact
            << " not correctly rounded, " << s.nan_mismatch << " NaN mismatches (first at bits 0x" << std::hex
            << s.nan_bits << ")");
  CHECK(s.nan_mismatch == 0);
  CHECK(s.max_ulp <= max_ulp_allowed);
  CHECK(s.checked > 0);
}

bool full_sweep_requested() {
  const char* e = std::getenv("PRISM_PMATH_FULL");
  return e && *e && *e != '0';
}

// The stride through all 2^32 patterns in CI: odd, so every residue of the low mantissa bits is visited.
constexpr uint64_t kStride = 31;
constexpr uint64_t kAllPatterns = uint64_t(1) << 32;

}  // namespace

// Measured on the full sweep (PRISM_PMATH_FULL=1, all 2^32 inputs): max 1 ulp for both functions.
constexpr int64_t kExpMaxUlp = 1;
constexpr int64_t kLogMaxUlp = 1;

TEST_CASE("exp_portable: max ulp error over a dense sweep of all floats", "[pmath]") {
  const uint64_t stride = full_sweep_requested() ? 1 : kStride;
  report_and_check("exp_portable, all patterns", sweep(Fn::exp, 0, kAllPatterns, stride), kExpMaxUlp);
  // Exhaustive at the edges: results that are subnormal or underflow (x in [−104, −87.3]), results near
  // FLT_MAX and overflow (x in [88, 89]), and tiny |x| where e^x rounds to 1 or its neighbours.
  const uint32_t neg87 = float_bits(-87.3f), neg104 = float_bits(-104.0f);
  report_and_check("exp_portable, subnormal results", sweep(Fn::exp, neg87, uint64_t(neg104) + 1, 1),
                   kExpMaxUlp);
  report_and_check("exp_portable, overflow edge",
                   sweep(Fn::exp, float_bits(88.0f), uint64_t(float_bits(89.0f)) + 1, 1), kExpMaxUlp);
  // Below 2^-25 in magnitude e^x rounds to 1 trivially; between 2^-25 and 2^-22 it is 1 ± one or two ulps.
  report_and_check("exp_portable, x in [2^-25, 2^-22]",
                   sweep(Fn::exp, float_bits(0x1p-25f), uint64_t(float_bits(0x1p-22f)) + 1, 1), kExpMaxUlp);
  report_and_check("exp_portable, x in [-2^-22, -2^-25]",
                   sweep(Fn::exp, float_bits(-0x1p-25f), uint64_t(float_bits(-0x1p-22f)) + 1, 1), kExpMaxUlp);
}

TEST_CASE("log_portable: max ulp error over a dense sweep of all floats", "[pmath]") {
  const uint64_t stride = full_sweep_requested() ? 1 : kStride;
  report_and_check("log_portable, all patterns", sweep(Fn::log, 0, kAllPatterns, stride), kLogMaxUlp);
  // Exhaustive: every subnormal input (the 2^25 pre-scaling path) and every input in [0.5, 2), where the
  // result is small and the reduction's cancellation is worst.
  report_and_check("log_portable, subnormal inputs", sweep(Fn::log, 1, 0x00800000u, 1), kLogMaxUlp);
  report_and_check("log_portable, [0.5, 2)", sweep(Fn::log, float_bits(0.5f), float_bits(2.0f), 1),
                   kLogMaxUlp);
}

TEST_CASE("exp_portable: special values and edges", "[pmath]") {
  const float inf = std::numeric_limits<float>::infinity();
  const float qnan = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(exp_portable(qnan)));
  CHECK(std::isnan(exp_portable(-qnan)));
  CHECK(exp_portable(inf) == inf);
  CHECK(exp_portable(-inf) == 0.0f);
  CHECK(float_bits(exp_portable(-inf)) == 0u);  // +0, not −0
  CHECK(exp_portable(0.0f) == 1.0f);
  CHECK(exp_portable(-0.0f) == 1.0f);
  CHECK(exp_portable(std::numeric_limits<float>::denorm_min()) == 1.0f);
  CHECK(exp_portable(-std::numeric_limits<float>::denorm_min()) == 1.0f);
  CHECK(exp_portable(1.0f) == static_cast<float>(std::exp(1.0)));
  // Overflow: the largest finite result and the first infinite one, as correctly rounded.
  const float x_max = 88.72283172607421875f;  // largest float whose e^x rounds to a finite float
  CHECK(float_bits(x_max) == 0x42b17217u);
  CAPTURE(x_max, exp_portable(x_max), std::nextafter(x_max, inf));
  CHECK(std::isfinite(exp_portable(x_max)));
  CHECK(exp_portable(std::nextafter(x_max, inf)) == inf);
  CHECK(exp_portable(1000.0f) == inf);
  CHECK(exp_portable(std::numeric_limits<float>::max()) == inf);
  // Underflow: the smallest subnormal and zero, at the same inputs where the correctly rounded result
  // changes.
  for (float x : {-87.0f, -88.0f, -100.0f, -103.0f, -103.9f, -103.97f, -103.972f, -103.9721f, -103.98f,
                  -104.0f, -200.0f, -std::numeric_limits<float>::max()}) {
    CAPTURE(x, exp_portable(x), reference(Fn::exp, x));
    CHECK(ulp_distance(exp_portable(x), reference(Fn::exp, x)) <= kExpMaxUlp);
    CHECK(exp_portable(x) >= 0.0f);
  }
  CHECK(exp_portable(-104.0f) == 0.0f);
  CHECK(exp_portable(-103.0f) > 0.0f);
}

TEST_CASE("log_portable: special values and edges", "[pmath]") {
  const float inf = std::numeric_limits<float>::infinity();
  const float qnan = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(log_portable(qnan)));
  CHECK(std::isnan(log_portable(-1.0f)));
  CHECK(std::isnan(log_portable(-inf)));
  CHECK(std::isnan(log_portable(-std::numeric_limits<float>::denorm_min())));
  CHECK(log_portable(0.0f) == -inf);
  CHECK(log_portable(-0.0f) == -inf);
  CHECK(log_portable(inf) == inf);
  CHECK(log_portable(1.0f) == 0.0f);
  CHECK(float_bits(log_portable(1.0f)) == 0u);  // +0
  const float tiny = std::numeric_limits<float>::denorm_min(), big = std::numeric_limits<float>::max();
  CAPTURE(log_portable(tiny), reference(Fn::log, tiny), log_portable(big), reference(Fn::log, big));
  CHECK(ulp_distance(log_portable(tiny), reference(Fn::log, tiny)) <= kLogMaxUlp);
  CHECK(ulp_distance(log_portable(big), reference(Fn::log, big)) <= kLogMaxUlp);
  CHECK(ulp_distance(log_portable(std::numeric_limits<float>::min()),
                     reference(Fn::log, std::numeric_limits<float>::min())) <= kLogMaxUlp);
  // Powers of two: e·ln2 in two parts.
  for (int e = -149; e <= 127; ++e) {
    const float x = std::ldexp(1.0f, e);
    CAPTURE(e, log_portable(x), reference(Fn::log, x));
    CHECK(ulp_distance(log_portable(x), reference(Fn::log, x)) <= kLogMaxUlp);
  }
}

TEST_CASE("exp and log invert each other to within a few ulps", "[pmath]") {
  for (float x = -20.0f; x <= 20.0f; x += 0.37f) {
    const float y = log_portable(exp_portable(x));
    CAPTURE(x, y);
    CHECK(std::abs(y - x) <= 4 * std::numeric_limits<float>::epsilon() * std::max(1.0f, std::abs(x)));
  }
}
