// von Mises–Fisher pieces of the vMF-Sim clean probability (reference code, host, double): portable exp/log,
// ln I_ν by Debye's uniform expansion plus a backward ratio recurrence, ln C_d(κ), Banerjee's κ and the
// per-class fit of a memory bank. See vmf.hpp; the algorithm and its accuracy are in docs/prism.md.
#include "prism/dml/vmf.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "prism/core/runtime.hpp"

namespace prism::dml {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

uint64_t double_bits(double x) {
  uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
double bits_double(uint64_t u) {
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
double power_of_two(int k) {  // 2^k for k in [−1022, 1023]
  return bits_double(static_cast<uint64_t>(k + 1023) << 52);
}

}  // namespace

// ---- portable exp and log ----------------------------------------------------------------------------------

double exp_portable_d(double x) {
  if (x != x) return x;
  if (x > 709.782712893383973096) return kInf;
  if (x < -745.13321910194110842) return 0.0;
  // k = nearest integer to x / ln 2 (the 1.5·2^52 rounding trick), r = x − k ln 2 with ln 2 = hi + lo, hi
  // holding 32 significant bits so that k·hi is exact (fdlibm's split).
  const double kRound = 6755399441055744.0;
  const double kf = (x * 1.44269504088896338700 + kRound) - kRound;
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  const double r = (x - kf * ln2_hi) - kf * ln2_lo;  // |r| ≤ ln2/2 (+ rounding)
  // e^r by Taylor to degree 13 (truncation ≤ 0.35^14 / 14! ≈ 4e-18 relative), Horner from the top.
  static const std::array<double, 14> inverse_factorial = [] {
    std::array<double, 14> c{};
    c[0] = 1.0;
    for (int n = 1; n < 14; ++n) c[n] = c[n - 1] / n;
    return c;
  }();
  double p = inverse_factorial[13];
  for (int n = 12; n >= 0; --n) p = p * r + inverse_factorial[n];
  const int k = static_cast<int>(kf);
  if (k > 1023) return p * 2.0 * power_of_two(k - 1);
  if (k >= -1022) return p * power_of_two(k);
  return (p * power_of_two(k + 64)) * power_of_two(-64);  // subnormal result: scale in two steps
}

double log_portable_d(double x) {
  if (x != x) return x;
  if (x < 0.0) return kNaN;
  if (x == 0.0) return -kInf;
  if (x == kInf) return x;
  uint64_t u = double_bits(x);
  int e = 0;
  if (u < 0x0010000000000000ull) {  // subnormal: scale up by 2^54
    x *= 18014398509481984.0;
    u = double_bits(x);
    e = -54;
  }
  e += static_cast<int>(u >> 52) - 1023;
  double m = bits_double((u & 0x000fffffffffffffull) | 0x3ff0000000000000ull);  // [1, 2)
  if (m > 1.41421356237309514547) {
    m *= 0.5;
    e += 1;
  }
  // fdlibm's __ieee754_log: ln(1 + f) = f − f²/2 + s (f²/2 + R(s²)), s = f / (2 + f), R minimax on
  // [0, 0.1716].
  const double f = m - 1.0;  // exact (Sterbenz)
  const double s = f / (2.0 + f);
  const double z = s * s, w = z * z;
  const double t1 =
      w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
  const double t2 =
      z * (6.666666666666735130e-01 +
           w * (2.857142874366239149e-01 + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
  const double R = t2 + t1;
  const double hfsq = 0.5 * f * f;
  const double dk = static_cast<double>(e);
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  return dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
}

// ---- ln I_ν(x) ---------------------------------------------------------------------------------------------

namespace {

// Debye's uniform expansion (DLMF 10.41.3): I_ν(νz) ~ e^{νη} / (√(2πν) (1 + z²)^{1/4}) Σ_k u_k(t) / ν^k with
// t = 1/√(1 + z²), η = √(1 + z²) + ln(z / (1 + √(1 + z²))). Terms k = 0..10; from ν = 16 on the truncation
// error is below 1e-13 relative for every z (measured, docs/prism.md).
constexpr int kDebyeTerms = 10;
constexpr double kDebyeMinOrder = 16.0;

// u_0 = 1, u_{k+1}(t) = ½ t² (1 − t²) u_k'(t) + ⅛ ∫_0^t (1 − 5s²) u_k(s) ds (DLMF 10.41.9); coefficient j of
// u_k multiplies t^j (degree 3k). Built once in double (exact rationals rounded; same bits everywhere).
using DebyePolys = std::array<std::array<double, 3 * kDebyeTerms + 1>, kDebyeTerms + 1>;
const DebyePolys& debye_polynomials() {
  static const DebyePolys u = [] {
    DebyePolys p{};
    p[0][0] = 1.0;
    for (int k = 0; k < kDebyeTerms; ++k) {
      auto& next = p[k + 1];
      for (int j = 1; j <= 3 * k; ++j) {  // ½ (t² − t⁴) · j c_j t^{j−1}
        const double dj = 0.5 * j * p[k][j];
        next[j + 1] += dj;
        next[j + 3] -= dj;
      }
      for (int j = 0; j <= 3 * k; ++j) {  // ⅛ ∫ (1 − 5s²) c_j s^j
        next[j + 1] += p[k][j] / (8.0 * (j + 1));
        next[j + 3] -= 5.0 * p[k][j] / (8.0 * (j + 3));
      }
    }
    return p;
  }();
  return u;
}

double debye_log_i(double nu, double x) {
  const DebyePolys& u = debye_polynomials();
  const double z = x / nu;
  const double w = std::sqrt(1.0 + z * z);  // IEEE sqrt: correctly rounded everywhere
  const double t = 1.0 / w;
  const double eta = w + log_portable_d(z / (1.0 + w));
  double series = 0.0, inv_power = 1.0;
  for (int k = 0; k <= kDebyeTerms; ++k) {
    double uk = 0.0;
    for (int j = 3 * k; j >= 0; --j) uk = uk * t + u[k][j];
    series += uk * inv_power;
    inv_power /= nu;
  }
  const double two_pi = 6.28318530717958647692;
  return nu * eta - 0.5 * log_portable_d(two_pi * nu) - 0.5 * log_portable_d(w) + log_portable_d(series);
}

}  // namespace

double log_bessel_i(double nu, double x) {
  if (!(nu >= 0.0) || !(x > 0.0) || nu == kInf || x == kInf)
    throw Error("log_bessel_i: needs finite nu >= 0 and x > 0, got nu = " + std::to_string(nu) +
                ", x = " + std::to_string(x));
  if (nu >= kDebyeMinOrder) return debye_log_i(nu, x);
  // Below the Debye range: go up N whole orders to m = ν + N ≥ 16, take ln I_m and the ratio I_{m+1}/I_m from
  // Debye, and come down with I_{j−1} = I_{j+1} + (2j/x) I_j, i.e. ρ_{j−1} = 1 / (2j/x + ρ_j) for the ratio
  // ρ_j = I_{j+1}/I_j — every term positive (stable: I decreases in the order), then
  // ln I_ν = ln I_m − Σ_{j=ν}^{m−1} ln ρ_j.
  int steps = 0;
  while (nu + steps < kDebyeMinOrder) ++steps;
  const double top = nu + steps;
  const double log_top = debye_log_i(top, x);
  double ratio = exp_portable_d(debye_log_i(top + 1.0, x) - log_top);
  double log_ratios = 0.0;
  for (int j = steps - 1; j >= 0; --j) {
    ratio = 1.0 / (2.0 * (nu + j + 1.0) / x + ratio);  // ρ_{ν+j}
    log_ratios += log_portable_d(ratio);
  }
  return log_top - log_ratios;
}

double vmf_log_normalizer(int64_t d, double kappa) {
  if (d < 2) throw Error("vmf_log_normalizer: dimension must be >= 2, got " + std::to_string(d));
  const double half = 0.5 * static_cast<double>(d);
  const double log_two_pi = 1.83787706640934548356;
  return (half - 1.0) * log_portable_d(kappa) - half * log_two_pi - log_bessel_i(half - 1.0, kappa);
}

double vmf_kappa_estimate(double rbar, int64_t d) {
  if (std::isnan(rbar)) return kNaN;
  if (!(rbar < 1.0)) return kVmfKappaMax;
  const double r2 = rbar * rbar;
  const double kappa = rbar * (static_cast<double>(d) - r2) / (1.0 - r2);
  return std::min(kVmfKappaMax, std::max(kVmfKappaMin, kappa));
}

// ---- the per-class fit -------------------------------------------------------------------------------------

VmfFit vmf_fit(MemoryBank& bank) {
  const int64_t C = bank.num_classes(), d = bank.dim();
  const std::vector<float> w = bank.centers().to_vector();  // [C, d], w_k = r_k / m_k
  VmfFit fit;
  fit.count = bank.class_counts();
  fit.mean_length.assign(C, kNaN);
  fit.kappa.assign(C, kNaN);
  fit.log_c.assign(C, kNaN);
  fit.scaled_mean.assign(C * d, 0.0f);
  std::vector<double> multi_row_kappas;
  for (int64_t k = 0; k < C; ++k) {
    if (fit.count[k] == 0) continue;
    double ss = 0.0;
    for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(w[k * d + j]) * w[k * d + j];
    fit.mean_length[k] = std::sqrt(ss);
    if (fit.count[k] >= 2) {
      fit.kappa[k] = vmf_kappa_estimate(fit.mean_length[k], d);
      multi_row_kappas.push_back(fit.kappa[k]);
    }
  }
  // A single row has R̄ = 1 (no spread to estimate): it takes the median κ of the classes with ≥ 2 rows (the
  // mean of the two middle ones for an even count), the upper clamp when there are none.
  double median = kVmfKappaMax;
  if (!multi_row_kappas.empty()) {
    std::sort(multi_row_kappas.begin(), multi_row_kappas.end());
    const size_t m = multi_row_kappas.size();
    median = m % 2 ? multi_row_kappas[m / 2] : 0.5 * (multi_row_kappas[m / 2 - 1] + multi_row_kappas[m / 2]);
  }
  for (int64_t k = 0; k < C; ++k) {
    if (fit.count[k] == 0) continue;
    if (fit.count[k] == 1) fit.kappa[k] = median;
    fit.log_c[k] = vmf_log_normalizer(d, fit.kappa[k]);
    const double len = fit.mean_length[k];
    if (len > 0.0)
      for (int64_t j = 0; j < d; ++j)
        fit.scaled_mean[k * d + j] =
            static_cast<float>(fit.kappa[k] * (static_cast<double>(w[k * d + j]) / len));
  }
  return fit;
}

}  // namespace prism::dml
