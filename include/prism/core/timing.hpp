// Wall-clock timing helpers shared by the trainer and the `prism bench` subcommands: seconds since a
// steady-clock time point, medians of repeated runs.
// Benchmarks report medians measured in the same run, never single timings.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace prism {

using BenchClock = std::chrono::steady_clock;

inline double seconds_since(BenchClock::time_point t0) {
  return std::chrono::duration<double>(BenchClock::now() - t0).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median seconds of f() over `reps` calls after `warmup` untimed calls.
template <class F>
double median_seconds(F&& f, int64_t reps, int64_t warmup = 1) {
  for (int64_t i = 0; i < warmup; ++i) f();
  std::vector<double> times;
  for (int64_t i = 0; i < std::max<int64_t>(reps, 1); ++i) {
    const auto t0 = BenchClock::now();
    f();
    times.push_back(seconds_since(t0));
  }
  return median(times);
}

// Median seconds of f() after one warm-up call, repeating until ~min_total seconds have passed (at least
// min_reps, at most 50 calls).
template <class F>
double adaptive_median_seconds(F&& f, double min_total = 0.5, int min_reps = 3) {
  f();
  std::vector<double> times;
  const auto start = BenchClock::now();
  while ((static_cast<int>(times.size()) < min_reps || seconds_since(start) < min_total) &&
         times.size() < 50) {
    const auto t0 = BenchClock::now();
    f();
    times.push_back(seconds_since(t0));
  }
  return median(times);
}

}  // namespace prism
