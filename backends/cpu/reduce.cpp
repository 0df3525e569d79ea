// CPU reductions. Exact: the canonical chunked order of kernels/reduce.hpp, several chains interleaved per
// thread (chunked_channels.hpp: the chunks of one sum, or the channels/rows of a mid/inner reduction, as the
// lanes of the ISA's bn_chains), partials added in order. Fast: oneTBB / Eigen, vectorised, order free.
#include <tbb/parallel_reduce.h>

#include <Eigen/Core>
#include <vector>

#include "cpu/chunked_channels.hpp"
#include "cpu/cpu_backend.hpp"

namespace prism::cpu {

void chunked_reduce_channels(float* out, BnChain op, const float* x, const float* dy, const float* mean,
                             const float* invstd, int64_t m0, int64_t count, int64_t outer, int64_t mid,
                             int64_t inner) {
  const IsaKernels& isa = isa_kernels();
  const int64_t n = outer * inner, chains = op == BnChain::dbeta_dgamma ? 2 * count : count;
  float total[2 * kChannelGroup] = {}, part[2 * kChannelGroup];
  for (int64_t c0 = 0; c0 < n; c0 += kern::kReduceChunk) {
    const int64_t c1 = std::min(n, c0 + kern::kReduceChunk);
    for (int64_t g = 0; g < chains; ++g) part[g] = 0.0f;
    for (int64_t t = c0; t < c1;) {  // the chunk's runs inside one plane
      const int64_t o = t / inner, i = t % inner, len = std::min(c1 - t, inner - i);
      const int64_t base = (o * mid + m0) * inner + i;
      isa.bn_chains(op, part, x + base, dy ? dy + base : nullptr, inner, len, mean, invstd, count);
      t += len;
    }
    for (int64_t g = 0; g < chains; ++g) total[g] = c0 == 0 ? part[g] : total[g] + part[g];
  }
  for (int64_t g = 0; g < chains; ++g) out[g] = total[g];
}

namespace {
float fast_sum(const float* in, int64_t n) {
  return tbb::parallel_reduce(
      tbb::blocked_range<int64_t>(0, n, 1 << 15), 0.0f,
      [&](const tbb::blocked_range<int64_t>& r, float acc) {
        return acc + Eigen::Map<const Eigen::VectorXf>(in + r.begin(), r.size()).sum();
      },
      [](float a, float b) { return a + b; });
}

// kern::chunked_reduce of in[0, n) with step acc + in[i]: the full chunks' partials as the rows of an
// [full, kReduceChunk] array (one chunk = one row, reduced from 0), kChannelGroup of them per call and the
// groups in parallel; the last, partial chunk alone; then the partials added in chunk order.
float exact_sum(const float* in, int64_t n) {
  const int64_t full = n / kern::kReduceChunk, chunks = (n + kern::kReduceChunk - 1) / kern::kReduceChunk;
  if (chunks <= 1) return kern::chunked_reduce<float>(n, [&](int64_t i, float acc) { return acc + in[i]; });
  std::vector<float> parts(static_cast<size_t>(chunks));
  each_channel_group(full, [&](int64_t m0, int64_t count) {
    chunked_reduce_channels(parts.data() + m0, BnChain::sum, in, nullptr, nullptr, nullptr, m0, count, 1,
                            full, kern::kReduceChunk);
  });
  if (chunks > full)
    parts[full] = kern::chunk_partial<float>(full * kern::kReduceChunk, n,
                                             [&](int64_t i, float acc) { return acc + in[i]; });
  float total = parts[0];
  for (int64_t c = 1; c < chunks; ++c) total = total + parts[c];
  return total;
}
}  // namespace

void CpuBackend::reduce_sum(float* out1, const float* in, int64_t n) {
  out1[0] = mode() == Mode::fast ? fast_sum(in, n) : exact_sum(in, n);
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
  if (mid >= 4 || len <= 4 * kern::kReduceChunk) {  // channels interleaved, channel groups in parallel
    each_channel_group(mid, [&](int64_t m0, int64_t count) {
      chunked_reduce_channels(out + m0, BnChain::sum, in, nullptr, nullptr, nullptr, m0, count, outer, mid,
                              inner);
    });
    return;
  }
  // Few long channels: each channel's chunks in parallel.
  auto add = [&](int64_t i, float acc) { return acc + in[i]; };
  for (int64_t m = 0; m < mid; ++m) out[m] = parallel_chunked_reduce_mid<float>(m, outer, mid, inner, add);
}

void CpuBackend::reduce_inner(float* out, const float* in, int64_t outer, int64_t inner) {
  if (mode() == Mode::fast) {
    parallel_each(outer, 1, [&](int64_t o) {
      out[o] = Eigen::Map<const Eigen::VectorXf>(in + o * inner, inner).sum();
    });
    return;
  }
  if (outer < 4) {  // few long rows: each row's chunks interleaved as in reduce_sum
    for (int64_t o = 0; o < outer; ++o) out[o] = exact_sum(in + o * inner, inner);
    return;
  }
  each_channel_group(outer, [&](int64_t r0, int64_t count) {  // rows interleaved, row groups in parallel
    chunked_reduce_channels(out + r0, BnChain::sum, in, nullptr, nullptr, nullptr, r0, count, 1, outer,
                            inner);
  });
}

}  // namespace prism::cpu
