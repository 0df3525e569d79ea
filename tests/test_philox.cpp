// Tests of the counter-based generator (reference): Philox-4x32-10 against the Random123 known-answer vectors
// (kat_vectors, the three "philox4x32 10" lines), the word/lane layout of kern::philox_u32, and basic
// uniformity / independence sanity of prism::Rng (the streams every init, sampler and noise draw comes from).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "prism/core/random.hpp"
#include "prism/kernels/philox.hpp"

using prism::Rng;
using prism::kern::Philox4;
using prism::kern::philox4x32_10;

namespace {

struct Kat {
  const char* name;
  uint32_t ctr[4];
  uint32_t key[2];
  uint32_t expect[4];
};

// Random123 tests/kat_vectors, "philox4x32 10": zero, all-ones and the pi-digits vector.
constexpr Kat kKats[] = {
    {"zero", {0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
    {"ones",
     {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
     {0xffffffffu, 0xffffffffu},
     {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
    {"pi",
     {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
     {0xa4093822u, 0x299f31d0u},
     {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
};

}  // namespace

TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors", "[rng]") {
  for (const Kat& k : kKats) {
    const Philox4 r = philox4x32_10(k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3], k.key[0], k.key[1]);
    for (int lane = 0; lane < 4; ++lane) {
      INFO("vector " << k.name << ", lane " << lane << std::hex << ": got 0x" << r.v[lane] << ", expected 0x"
                     << k.expect[lane]);
      CHECK(r.v[lane] == k.expect[lane]);
    }
  }
}

TEST_CASE("philox_u32: word i is lane i%4 of block i/4, keyed by (seed, stream)", "[rng]") {
  const uint64_t seed = 0x0123456789abcdefull, stream = 0xfedcba9876543210ull;
  for (uint64_t index : {0ull, 1ull, 2ull, 3ull, 4ull, 7ull, 1000001ull, (1ull << 34) + 2}) {
    const uint64_t block = index >> 2;
    const Philox4 r = philox4x32_10(uint32_t(block), uint32_t(block >> 32), uint32_t(stream),
                                    uint32_t(stream >> 32), uint32_t(seed), uint32_t(seed >> 32));
    INFO("index " << index);
    CHECK(prism::kern::philox_u32(seed, stream, index) == r.v[index & 3]);
  }
}

TEST_CASE("u32 → float / integer maps stay in range at the extremes", "[rng]") {
  using prism::kern::u32_below;
  using prism::kern::u32_to_unit_float;
  CHECK(u32_to_unit_float(0u) == 0.0f);
  CHECK(u32_to_unit_float(0xffffffffu) < 1.0f);
  CHECK(u32_to_unit_float(0xffffffffu) == 1.0f - 1.0f / 16777216.0f);
  for (uint32_t n : {1u, 2u, 3u, 7u, 1000u, 0x80000001u, 0xffffffffu}) {
    INFO("n = " << n);
    CHECK(u32_below(0u, n) == 0u);
    CHECK(u32_below(0xffffffffu, n) == n - 1);
  }
}

TEST_CASE("Rng is a pure function of (seed, stream, counter)", "[rng]") {
  Rng a(42, prism::RngStream::test), b(42, prism::RngStream::test);
  std::vector<uint32_t> first;
  for (int i = 0; i < 100; ++i) first.push_back(a.next_u32());
  for (int i = 0; i < 100; ++i) REQUIRE(b.next_u32() == first[i]);
  CHECK(a.counter() == 100);
  // Resuming from a saved counter continues the same sequence.
  Rng c(42, static_cast<uint64_t>(prism::RngStream::test), 37);
  for (int i = 37; i < 100; ++i) REQUIRE(c.next_u32() == first[i]);
  // Another seed or another stream gives another sequence.
  Rng d(43, prism::RngStream::test), e(42, prism::RngStream::sampler);
  int same_seed = 0, same_stream = 0;
  for (int i = 0; i < 100; ++i) {
    same_seed += d.next_u32() == first[i];
    same_stream += e.next_u32() == first[i];
  }
  CHECK(same_seed == 0);
  CHECK(same_stream == 0);
}

TEST_CASE("Rng::uniform is uniform on 0..1: range, mean, variance, 64-bin chi-square", "[rng]") {
  Rng rng(2021, prism::RngStream::test);
  constexpr int kDraws = 1 << 20, kBins = 64;
  std::vector<int64_t> bins(kBins, 0);
  double sum = 0, sum2 = 0, lag = 0;
  float prev = 0.5f, lo = 1, hi = 0;
  for (int i = 0; i < kDraws; ++i) {
    const float u = rng.uniform();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
    sum2 += double(u) * u;
    lag += (double(u) - 0.5) * (double(prev) - 0.5);
    prev = u;
    ++bins[static_cast<int>(u * kBins)];
  }
  const double mean = sum / kDraws, var = sum2 / kDraws - mean * mean;
  // Standard errors: mean sqrt(1/12/n), variance sqrt((μ4 − σ⁴)/n) = sqrt(1/180/n); 6-sigma bounds.
  CAPTURE(mean, var, lo, hi);
  CHECK(std::abs(mean - 0.5) < 6 * std::sqrt(1.0 / 12 / kDraws));
  CHECK(std::abs(var - 1.0 / 12) < 6 * std::sqrt(1.0 / 180 / kDraws));
  // Lag-1 autocorrelation of (u − ½): its standard error is (1/12)/sqrt(n).
  const double lag_corr = lag / kDraws / (1.0 / 12);
  CAPTURE(lag_corr);
  CHECK(std::abs(lag_corr) < 6 / std::sqrt(double(kDraws)));
  // Chi-square with 63 degrees of freedom: mean 63, sd sqrt(126) ≈ 11.2; reject above mean + 6 sd.
  double chi2 = 0;
  const double expect = double(kDraws) / kBins;
  for (int64_t c : bins) chi2 += (c - expect) * (c - expect) / expect;
  CAPTURE(chi2);
  CHECK(chi2 < 63 + 6 * std::sqrt(126.0));
  CHECK(lo >= 0.0f);
  CHECK(hi < 1.0f);
  CHECK(lo < 1e-4f);
  CHECK(hi > 1 - 1e-4f);
}

TEST_CASE("Rng::below(n) stays below n and hits every value", "[rng]") {
  Rng rng(7, prism::RngStream::test);
  for (uint32_t n : {1u, 2u, 3u, 10u, 97u}) {
    std::vector<int64_t> hits(n, 0);
    const int draws = 2000 * static_cast<int>(n);
    for (int i = 0; i < draws; ++i) {
      const uint32_t v = rng.below(n);
      if (v >= n) FAIL("below(" << n << ") gave " << v << " at draw " << i);
      ++hits[v];
    }
    // Each count is Binomial(draws, 1/n): mean 2000, sd < 45; 6 sd bounds.
    for (uint32_t v = 0; v < n; ++v) {
      INFO("n = " << n << ", value " << v << " drawn " << hits[v] << " times of " << draws);
      CHECK(std::abs(hits[v] - 2000) < 6 * std::sqrt(2000.0));
    }
  }
  // A large n: the values spread over the whole range.
  uint32_t mx = 0;
  for (int i = 0; i < 10000; ++i) mx = std::max(mx, rng.below(3000000000u));
  CHECK(mx < 3000000000u);
  CHECK(mx > 2900000000u);
}

TEST_CASE("Rng::fork gives distinct, uncorrelated streams", "[rng]") {
  const Rng base(99, prism::RngStream::init);
  std::set<uint64_t> streams;
  std::set<uint32_t> first_words;
  for (uint64_t sub = 0; sub < 256; ++sub) {
    Rng f = base.fork(sub);
    streams.insert(f.stream());
    first_words.insert(f.next_u32());
    CHECK(f.seed() == base.seed());
  }
  CHECK(streams.size() == 256);
  CHECK(streams.count(base.stream()) == 0);
  CHECK(first_words.size() >= 255);  // a 32-bit collision among 256 draws has probability ≈ 8e-6
  // Forks of forks differ from siblings, and neighbouring forks are uncorrelated.
  CHECK(base.fork(1).fork(0).stream() != base.fork(0).fork(1).stream());
  Rng f0 = base.fork(0), f1 = base.fork(1);
  constexpr int kN = 1 << 16;
  double cov = 0;
  for (int i = 0; i < kN; ++i) cov += (double(f0.uniform()) - 0.5) * (double(f1.uniform()) - 0.5);
  const double corr = cov / kN / (1.0 / 12);
  CAPTURE(corr);
  CHECK(std::abs(corr) < 6 / std::sqrt(double(kN)));
}

TEST_CASE("Rng::uniform(lo, hi) and bernoulli(p)", "[rng]") {
  Rng rng(5, prism::RngStream::test);
  int heads = 0;
  constexpr int kN = 100000;
  float lo = 0, hi = 0;
  for (int i = 0; i < kN; ++i) {
    const float u = rng.uniform(-3.0f, 2.0f);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    heads += rng.bernoulli(0.3f);
  }
  CAPTURE(lo, hi);
  CHECK(lo >= -3.0f);
  CHECK(hi < 2.0f);
  // Binomial(1e5, 0.3): sd ≈ 145.
  CAPTURE(heads);
  CHECK(std::abs(heads - 0.3 * kN) < 6 * std::sqrt(kN * 0.3 * 0.7));
  CHECK_FALSE(rng.bernoulli(0.0f));
  CHECK(rng.bernoulli(1.0f));
}
