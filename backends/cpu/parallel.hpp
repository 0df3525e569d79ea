// oneTBB helpers for the CPU backend: parallel loops over independent outputs, and the canonical chunked
// reduction of one channel with its chunks spread over threads (each chunk summed by one thread, partials added
// in order).
#pragma once
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <vector>

#include "prism/kernels/reduce.hpp"

namespace prism::cpu {

// f(i) for every i in [0, n); outputs are independent, so the split never changes a result.
template <class F>
void parallel_each(int64_t n, int64_t grain, F&& f) {
  if (n <= grain) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, grain), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t i = r.begin(); i < r.end(); ++i) f(i);
  });
}

// kern::chunked_reduce_mid with the chunk partials computed in parallel.
template <class T, class Step>
T parallel_chunked_reduce_mid(int64_t m, int64_t outer, int64_t mid, int64_t inner, Step step) {
  const int64_t n = outer * inner, chunks = (n + kern::kReduceChunk - 1) / kern::kReduceChunk;
  if (chunks <= 4) return kern::chunked_reduce_mid<T>(m, outer, mid, inner, step);
  std::vector<T> parts(chunks);
  parallel_each(chunks, 4, [&](int64_t c) {
    const int64_t b = c * kern::kReduceChunk, e = b + kern::kReduceChunk < n ? b + kern::kReduceChunk : n;
    parts[c] = kern::mid_chunk_partial<T>(b, e, m, mid, inner, step);
  });
  T total = parts[0];
  for (int64_t c = 1; c < chunks; ++c) total = total + parts[c];
  return total;
}

}  // namespace prism::cpu
