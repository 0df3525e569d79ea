// The canonical chunked reduction (kern::chunked_reduce_mid, DESIGN §3 rule 3) of several channels at once on
// the CPU, their chains interleaved by the ISA's bn_chains: batch-norm statistics and gradients, and the exact
// reduce_sum / reduce_mid / reduce_inner. A fast path: each chain is still its reference additions in order.
#pragma once
#include <algorithm>
#include <cstdint>

#include "cpu/isa.hpp"
#include "cpu/parallel.hpp"

namespace prism::cpu {

constexpr int64_t kChannelGroup = 16;  // channels reduced together by one thread (two register groups of 8)

// For channels m0 .. m0+count−1 (count ≤ kChannelGroup) of an [outer, mid, inner] array: out[g] = the canonical
// chunked reduction kern::chunked_reduce_mid of channel m0+g with the BnChain step `op`. The channels' chains
// are interleaved element by element (one contiguous run of a chunk at a time), so one thread keeps
// kChannelGroup independent additions in flight instead of waiting on one chain's latency; each chain still
// performs exactly its reference additions in its reference order. BnChain::dbeta_dgamma reduces two chains
// per channel from one pass: out[g] (Σ dy) and out[count + g] (Σ dy·x̂). With outer = 1 a channel is a row:
// out[g] = kern::chunked_reduce over row m0+g.
void chunked_reduce_channels(float* out, BnChain op, const float* x, const float* dy, const float* mean,
                             const float* invstd, int64_t m0, int64_t count, int64_t outer, int64_t mid,
                             int64_t inner);

// Runs f(m0, count) over groups of kChannelGroup channels (the last one shorter) in parallel.
template <class F>
void each_channel_group(int64_t c, F&& f) {
  parallel_each((c + kChannelGroup - 1) / kChannelGroup, 1, [&](int64_t grp) {
    const int64_t m0 = grp * kChannelGroup;
    f(m0, std::min(kChannelGroup, c - m0));
  });
}

}  // namespace prism::cpu
