// The canonical long reduction (DESIGN §3 rule 3), host and device: the index range is cut into chunks of
// kReduceChunk; each chunk folds its terms sequentially starting from 0; the chunk partials are added in
// order. `step(i, acc)` returns the accumulator after term i (acc + x[i], or fma(a[i], b[i], acc) for
// dot-like sums).
#pragma once
#include "prism/kernels/hd.hpp"

namespace prism::kern {

template <class T, class Step>
PRISM_HD T chunk_partial(int64_t begin, int64_t end, Step step) {
  T part = T(0);
  for (int64_t i = begin; i < end; ++i) part = step(i, part);
  return part;
}

template <class T, class Step>
PRISM_HD T chunked_reduce(int64_t n, Step step) {
  T total = T(0);
  for (int64_t c0 = 0; c0 < n; c0 += kReduceChunk) {
    int64_t c1 = c0 + kReduceChunk < n ? c0 + kReduceChunk : n;
    T part = chunk_partial<T>(c0, c1, step);
    total = c0 == 0 ? part : total + part;
  }
  return total;
}

// Index of element (o, m, i) of an [outer, mid, inner] array, walking the reduced axis as t = o·inner + i.
PRISM_HD int64_t mid_axis_index(int64_t t, int64_t m, int64_t mid, int64_t inner) {
  return (t / inner) * mid * inner + m * inner + t % inner;
}

// One chunk [t0, t1) of the axis t = o·inner + i for channel m of an [outer, mid, inner] array, folded from
// 0; `step(element_index, acc)`. Same terms in the same order as chunk_partial over mid_axis_index, without a
// division per element.
template <class T, class Step>
PRISM_HD T mid_chunk_partial(int64_t t0, int64_t t1, int64_t m, int64_t mid, int64_t inner, Step step) {
  int64_t o = t0 / inner, i = t0 % inner;
  T part = T(0);
  for (int64_t t = t0; t < t1; ++t) {
    part = step((o * mid + m) * inner + i, part);
    if (++i == inner) {
      i = 0;
      ++o;
    }
  }
  return part;
}

// The canonical chunked reduction over (o, i) for channel m (batch-norm statistics, bias gradients).
template <class T, class Step>
PRISM_HD T chunked_reduce_mid(int64_t m, int64_t outer, int64_t mid, int64_t inner, Step step) {
  const int64_t n = outer * inner;
  T total = T(0);
  for (int64_t c0 = 0; c0 < n; c0 += kReduceChunk) {
    int64_t c1 = c0 + kReduceChunk < n ? c0 + kReduceChunk : n;
    T part = mid_chunk_partial<T>(c0, c1, m, mid, inner, step);
    total = c0 == 0 ? part : total + part;
  }
  return total;
}

}  // namespace prism::kern
