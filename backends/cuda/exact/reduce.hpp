// Exact-mode reductions and transpose of the CUDA backend. A long reduction runs in two launches: one thread
// per canonical chunk (kern::chunk_partial / kern::mid_chunk_partial, each chunk folded from 0 in index
// order), then one thread per output adding its chunk partials in order, p0 + p1 + … — the order of
// kern::chunked_reduce, so the result is bit-identical to the CPU's whatever the grid. No atomics. Host and
// device.
#pragma once
#include "cuda/exact/launch.hpp"
#include "prism/kernels/reduce.hpp"

namespace prism::cuda::exact {

// Σ of `count` chunk partials p[0], p[stride], … in order; 0 when there are none (an empty reduction).
PRISM_HD float add_partials_in_order(const float* p, int64_t count, int64_t stride) {
  if (count <= 0) return 0.0f;
  float total = p[0];
  for (int64_t c = 1; c < count; ++c) total = total + p[c * stride];
  return total;
}

PRISM_HD int64_t chunk_end(int64_t c, int64_t n) {
  const int64_t e = (c + 1) * kern::kReduceChunk;
  return e < n ? e : n;
}

// parts[r·chunks + c] = chunk c of row r of a [rows, n] array.
struct RowChunkSums {
  float* parts;
  const float* in;
  int64_t n, chunks;
  PRISM_HD void operator()(int64_t idx) const {
    const int64_t r = idx / chunks, c = idx % chunks;
    const float* row = in + r * n;
    parts[idx] = kern::chunk_partial<float>(c * kern::kReduceChunk, chunk_end(c, n),
                                            [&](int64_t i, float acc) { return acc + row[i]; });
  }
};

// parts[m·chunks + c] = chunk c of the axis t = o·inner + i of channel m of an [outer, mid, inner] array.
struct MidChunkSums {
  float* parts;
  const float* in;
  int64_t mid, inner, len, chunks;
  PRISM_HD void operator()(int64_t idx) const {
    const int64_t m = idx / chunks, c = idx % chunks;
    parts[idx] = kern::mid_chunk_partial<float>(c * kern::kReduceChunk, chunk_end(c, len), m, mid, inner,
                                                [&](int64_t i, float acc) { return acc + in[i]; });
  }
};

// out[r] = the partials of row r added in order.
struct AddPartials {
  float* out;
  const float* parts;
  int64_t chunks;
  PRISM_HD void operator()(int64_t r) const { out[r] = add_partials_in_order(parts + r * chunks, chunks, 1); }
};

// One thread per row for rows of at most one chunk (no partials needed).
struct RowSum {
  float* out;
  const float* in;
  int64_t n;
  PRISM_HD void operator()(int64_t r) const {
    const float* row = in + r * n;
    out[r] = kern::chunked_reduce<float>(n, [&](int64_t i, float acc) { return acc + row[i]; });
  }
};

// out[b, c, r] = in[b, r, c]; one thread per output element (coalesced stores).
struct Transpose {
  float* out;
  const float* in;
  int64_t rows, cols;
  PRISM_HD void operator()(int64_t idx) const {
    const int64_t r = idx % rows, c = (idx / rows) % cols, b = idx / (rows * cols);
    out[idx] = in[(b * rows + r) * cols + c];
  }
};

// out[r] = Σ_i in[r, i] for `rows` rows of n, in the canonical order.
template <class L>
void sum_rows(L& launch, float* out, const float* in, int64_t rows, int64_t n, const char* what) {
  const int64_t chunks = ceil_div(n, kern::kReduceChunk);
  if (chunks <= 1) {
    launch.each(rows, RowSum{out, in, n}, what);
    return;
  }
  auto parts = launch.scratch(rows * chunks);
  launch.each(rows * chunks, RowChunkSums{parts.data(), in, n, chunks}, what);
  launch.each(rows, AddPartials{out, parts.data(), chunks}, what);
}

template <class L>
void reduce_sum(L& launch, float* out1, const float* in, int64_t n) {
  sum_rows(launch, out1, in, 1, n, "reduce_sum");
}

template <class L>
void reduce_inner(L& launch, float* out, const float* in, int64_t outer, int64_t inner) {
  sum_rows(launch, out, in, outer, inner, "reduce_inner");
}

template <class L>
void reduce_mid(L& launch, float* out, const float* in, int64_t outer, int64_t mid, int64_t inner) {
  const int64_t len = outer * inner, chunks = ceil_div(len, kern::kReduceChunk);
  if (chunks <= 1) {  // a single chunk (or none) is its own total
    launch.each(mid, MidChunkSums{out, in, mid, inner, len, 1}, "reduce_mid");
    return;
  }
  auto parts = launch.scratch(mid * chunks);
  launch.each(mid * chunks, MidChunkSums{parts.data(), in, mid, inner, len, chunks}, "reduce_mid");
  launch.each(mid, AddPartials{out, parts.data(), chunks}, "reduce_mid");
}

template <class L>
void transpose(L& launch, float* out, const float* in, int64_t batch, int64_t rows, int64_t cols) {
  launch.each(batch * rows * cols, Transpose{out, in, rows, cols}, "transpose");
}

}  // namespace prism::cuda::exact
