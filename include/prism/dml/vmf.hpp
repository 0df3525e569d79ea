// The von Mises–Fisher pieces of the vMF-Sim clean probability (DESIGN §4.11), reference code on the host in
// double: log I_ν(x) in log space, the normaliser log C_d(κ), and the per-class fit (R̄, κ, log C_d, κ·μ) of a
// memory bank. Built only from IEEE + − × ÷, sqrt and this file's own exp and log (no libm transcendental), so
// every machine and both modes get the same bits. Algorithm and measured accuracy: docs/prism.md.
#pragma once
#include <cstdint>
#include <vector>

#include "prism/dml/memory_bank.hpp"

namespace prism::dml {

// e^x and ln x in double (fdlibm's reductions; within 1 ulp of glibc, tests/test_dml_vmf.cpp).
double exp_portable_d(double x);
double log_portable_d(double x);

// ln I_ν(x), the modified Bessel function of the first kind, for ν ≥ 0 and x > 0 (throws otherwise). Debye's
// uniform asymptotic expansion (10 terms) for ν ≥ 16; below, Debye at ν + N ≥ 16 and the backward recurrence
// of the ratios I_{m+1}/I_m down to ν. Measured against scipy/mpmath over ν ∈ [0, 1024], x ∈ [1e-3, 1e5]:
// |error| ≤ 2e-13 · max(1, |ln I_ν(x)|) (tests/reference/make_vmf_golden.py).
double log_bessel_i(double nu, double x);

// ln C_d(κ) = (d/2 − 1) ln κ − (d/2) ln 2π − ln I_{d/2−1}(κ): the log normaliser of the vMF density on the
// unit sphere in d ≥ 2 dimensions.
double vmf_log_normalizer(int64_t d, double kappa);

// κ clamp of the vMF form.
inline constexpr double kVmfKappaMin = 1e-3, kVmfKappaMax = 1e5;

// Banerjee et al. (2005): κ ≈ R̄ (d − R̄²) / (1 − R̄²), clamped to [kVmfKappaMin, kVmfKappaMax]; R̄ ≥ 1 (all
// rows equal, or float rounding above 1) gives the upper clamp.
double vmf_kappa_estimate(double mean_resultant_length, int64_t d);

// The vMF fit of every class of a memory bank (from its class centers w_k = r_k / m_k, so R̄_k = ‖w_k‖ and
// μ_k = w_k / ‖w_k‖, the norm in double in index order).
struct VmfFit {
  std::vector<int64_t> count;       // [C] rows per class
  std::vector<double> mean_length;  // [C] R̄_k (NaN without rows)
  std::vector<double> kappa;       // [C] κ_k, clamped; single-row classes take the median (NaN without rows)
  std::vector<double> log_c;       // [C] ln C_d(κ_k) (NaN without rows)
  std::vector<float> scaled_mean;  // [C, d] float(κ_k μ_k), 0 rows for classes without rows
};
VmfFit vmf_fit(MemoryBank& bank);

}  // namespace prism::dml
