// CPU reductions. Exact: the canonical chunked order of kernels/reduce.hpp (chunks spread over threads,
// partials added in order). Fast: oneTBB parallel_reduce with vectorised partial sums, order free.
#include <tbb/parallel_reduce.h>

#include <Eigen/Core>

#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace prism::cpu {

namespace {
float fast_sum(const float* in, int64_t n) {
  return tbb::parallel_reduce(
      tbb::blocked_range<int64_t>(0, n, 1 << 15), 0.0f,
      [&](const tbb::blocked_range<int64_t>& r, float acc) {
        return acc + Eigen::Map<const Eigen::VectorXf>(in + r.begin(), r.size()).sum();
      },
      [](float a, float b) { return a + b; });
}
}  // namespace

void CpuBackend::reduce_sum(float* out1, const float* in, int64_t n) {
  if (mode() == Mode::fast) {
    out1[0] = fast_sum(in, n);
    return;
  }
  out1[0] = parallel_chunked_reduce<float>(n, [&](int64_t i, float acc) { return acc + in[i]; });
}

void CpuBackend::reduce_mid(float* out, const float* in, int64_t outer, int64_t mid, int64_t inner) {
  const int64_t len = outer * inner;
  if (mode() == Mode::fast) {
    parallel_each(mid, 1, [&](int64_t m) {
      float acc = 0.0f;
      for (int64_t o = 0; o < outer; ++o)
        acc += Eigen::Map<const Eigen::VectorXf>(in + (o * mid + m) * inner, inner).sum();
      out[m] = acc;
    });
    return;
  }
  auto add = [&](int64_t i, float acc) { return acc + in[i]; };
  if (mid >= 4 || len <= 4 * kern::kReduceChunk) {
    parallel_each(mid, 1,
                  [&](int64_t m) { out[m] = kern::chunked_reduce_mid<float>(m, outer, mid, inner, add); });
    return;
  }
  for (int64_t m = 0; m < mid; ++m) out[m] = parallel_chunked_reduce_mid<float>(m, outer, mid, inner, add);
}

void CpuBackend::reduce_inner(float* out, const float* in, int64_t outer, int64_t inner) {
  if (mode() == Mode::fast) {
    parallel_each(outer, 1, [&](int64_t o) {
      out[o] = Eigen::Map<const Eigen::VectorXf>(in + o * inner, inner).sum();
    });
    return;
  }
  parallel_each(outer, 1, [&](int64_t o) {
    const float* row = in + o * inner;
    out[o] = kern::chunked_reduce<float>(inner, [&](int64_t i, float acc) { return acc + row[i]; });
  });
}

}  // namespace prism::cpu
