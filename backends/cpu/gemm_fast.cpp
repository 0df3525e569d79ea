// Fast-mode GEMM on the CPU: the blocked kernel of gemm.cpp with its micro-kernel from the ISA variant chosen
// at run time (isa.hpp), run in the chunked order whatever the caller asked: fast mode may reorder, and the
// chunked order lets a long k be split across threads (chunk partials in parallel). Until the runtime
// dispatch this was Eigen's GEBP kernel, whose speed depended on the -march the binary was built with; the
// blocked kernel matches it (docs/results.md) and runs at the CPU's speed in a portable build. Results agree
// with exact mode within rounding (tolerance in tests/test_gemm.cpp and tests/test_parity.cpp).
#include "cpu/cpu_backend.hpp"

namespace prism::cpu {

void gemm_fast(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool trans_a,
               bool trans_b, float alpha, int threads) {
  gemm_exact(C, A, B, M, N, K, trans_a, trans_b, alpha, GemmOrder::chunked, threads);
}

}  // namespace prism::cpu
