// Metric-learning kernels, reference definition per row / element (host and device): the contrastive,
// multi-similarity and SoftTriple losses (forward rows and backward elements; derivations in docs/prism.md),
// class means of memory rows, row copies into the memory ring.
#pragma once
#include "prism/kernels/elementwise.hpp"
#include "prism/kernels/params.hpp"
#include "prism/kernels/reduce.hpp"

namespace prism::kern {

// Pair (i, j) is an active positive (+1 → −s in the gradient), active negative, or inactive (0).
// Positive: same label and s < 1 − pos_eps (near-duplicates, e.g. a sample with itself, give no loss).
// Negative: different label and s > margin. At the kinks (s = 1 − pos_eps, s = margin) the pair is inactive.
PRISM_HD int contrastive_pair_kind(float s, int32_t yi, int32_t yj, float margin, float pos_eps) {
  if (yi == yj) return s < 1.0f - pos_eps ? -1 : 0;
  return s > margin ? 1 : 0;
}

PRISM_HD float contrastive_row(const float* sim, const int32_t* row_labels, const int32_t* col_labels,
                               const int32_t* row_mask, const int32_t* col_mask, int64_t cols, float margin,
                               float pos_eps, int64_t i) {
  if (row_mask && !row_mask[i]) return 0.0f;
  const float* s = sim + i * cols;
  const int32_t yi = row_labels[i];
  return chunked_reduce<float>(cols, [&](int64_t j, float acc) {
    if (col_mask && !col_mask[j]) return acc;
    const int kind = contrastive_pair_kind(s[j], yi, col_labels[j], margin, pos_eps);
    return kind < 0 ? acc + (1.0f - s[j]) : kind > 0 ? acc + s[j] : acc;
  });
}

PRISM_HD float contrastive_grad_one(const float* sim, const int32_t* row_labels, const int32_t* col_labels,
                                    const int32_t* row_mask, const int32_t* col_mask, int64_t cols,
                                    float margin, float pos_eps, float scale, int64_t idx) {
  const int64_t i = idx / cols, j = idx % cols;
  if ((row_mask && !row_mask[i]) || (col_mask && !col_mask[j])) return 0.0f;
  const int kind = contrastive_pair_kind(sim[idx], row_labels[i], col_labels[j], margin, pos_eps);
  return kind < 0 ? -scale : kind > 0 ? scale : 0.0f;
}

// out[g, d] = (Σ over t in [offsets[g], offsets[g+1]) of in[order[t], d], canonical chunks) / count; 0 if
// empty.
template <class T>
PRISM_HD T segment_mean_one(const T* in, const int32_t* order, const int32_t* offsets, int64_t dim, int64_t g,
                            int64_t d) {
  const int64_t b = offsets[g], e = offsets[g + 1];
  if (e <= b) return T(0);
  const T total =
      chunked_reduce<T>(e - b, [&](int64_t t, T acc) { return acc + in[order[b + t] * dim + d]; });
  return total / T(e - b);
}

// ---- multi-similarity loss (Wang et al. 2019) -------------------------------------------------------------
// Row i against the columns j with col_mask[j] ≠ 0 (and j ≠ i when skip_diagonal): positives P_i (same
// label), negatives N_i. Mining (pytorch-metric-learning's MultiSimilarityMiner): a positive is kept when
// s − ε < max over N_i, a negative when s + ε > min over P_i (a row without negatives keeps no positive, one
// without positives no negative). With a_k = α(λ − s_ik), b_j = β(s_ij − λ) over the kept pairs,
//   loss_i = (m_p + log D_p) / α + (m_n + log D_n) / β,  m = max(0, max of the exponents),
//   D = e^{−m} + Σ e^{x − m} (the "1 +" of log(1 + Σ e^x), shifted by m; the sum in the canonical chunks).
// The row statistics are saved for the backward pass in this layout (the extremes are 0 when their set is
// empty, and flagged, so the statistics of finite similarities are finite):
enum MsStat : int {
  ms_min_pos,
  ms_max_neg,
  ms_has_pos,
  ms_has_neg,
  ms_max_pos_exp,
  ms_pos_denom,
  ms_max_neg_exp,
  ms_neg_denom
};
inline constexpr int64_t kMsStats = 8;

template <class T>
PRISM_HD T inf_t() {
  return T(bits_float(0x7f800000u));
}

// +1 positive, −1 negative, 0 not a pair (masked column, or the diagonal of the batch loss).
PRISM_HD int ms_pair_sign(const int32_t* row_labels, const int32_t* col_labels, const int32_t* col_mask,
                          int32_t skip_diagonal, int64_t i, int64_t j) {
  if ((col_mask && !col_mask[j]) || (skip_diagonal && i == j)) return 0;
  return row_labels[i] == col_labels[j] ? 1 : -1;
}

// Whether pair (i, j) of sign `sign` and similarity s survives the mining, given the row's saved extremes.
template <class T>
PRISM_HD bool ms_mined(int sign, T s, const T* st, T epsilon) {
  if (sign > 0) return st[ms_has_neg] != T(0) && s - epsilon < st[ms_max_neg];
  if (sign < 0) return st[ms_has_pos] != T(0) && s + epsilon > st[ms_min_pos];
  return false;
}

// Writes row i's loss and its kMsStats statistics (zeros for a masked row).
template <class T>
PRISM_HD void ms_row(T* row_loss, T* stats, const T* sim, const int32_t* row_labels,
                     const int32_t* col_labels, const int32_t* row_mask, const int32_t* col_mask,
                     int64_t cols, const MultiSimilarityParams& p, int64_t i) {
  T* st = stats + i * kMsStats;
  for (int64_t k = 0; k < kMsStats; ++k) st[k] = T(0);
  row_loss[i] = T(0);
  if (row_mask && !row_mask[i]) return;
  const T* s = sim + i * cols;
  const T alpha = T(p.alpha), beta = T(p.beta), base = T(p.base), eps = T(p.epsilon);
  // Extremes over all pairs (NaN similarities compare false: never an extreme, never mined).
  T min_pos = inf_t<T>(), max_neg = -inf_t<T>();
  bool has_pos = false, has_neg = false;
  for (int64_t j = 0; j < cols; ++j) {
    const int sign = ms_pair_sign(row_labels, col_labels, col_mask, p.skip_diagonal, i, j);
    has_pos |= sign > 0;
    has_neg |= sign < 0;
    if (sign > 0 && s[j] < min_pos) min_pos = s[j];
    if (sign < 0 && s[j] > max_neg) max_neg = s[j];
  }
  st[ms_has_pos] = has_pos ? T(1) : T(0);
  st[ms_has_neg] = has_neg ? T(1) : T(0);
  st[ms_min_pos] = has_pos ? min_pos : T(0);
  st[ms_max_neg] = has_neg ? max_neg : T(0);
  T m_p = T(0), m_n = T(0);
  for (int64_t j = 0; j < cols; ++j) {
    const int sign = ms_pair_sign(row_labels, col_labels, col_mask, p.skip_diagonal, i, j);
    if (!ms_mined(sign, s[j], st, eps)) continue;
    const T x = sign > 0 ? alpha * (base - s[j]) : beta * (s[j] - base);
    if (sign > 0 && x > m_p) m_p = x;
    if (sign < 0 && x > m_n) m_n = x;
  }
  auto exp_sum = [&](int want, T m, T scale_) {
    return chunked_reduce<T>(cols, [&](int64_t j, T acc) {
      const int sign = ms_pair_sign(row_labels, col_labels, col_mask, p.skip_diagonal, i, j);
      if (sign != want || !ms_mined(sign, s[j], st, eps)) return acc;
      const T x = sign > 0 ? scale_ * (base - s[j]) : scale_ * (s[j] - base);
      return acc + exp_t<T>(x - m);
    });
  };
  const T d_p = exp_t<T>(-m_p) + exp_sum(1, m_p, alpha);
  const T d_n = exp_t<T>(-m_n) + exp_sum(-1, m_n, beta);
  st[ms_max_pos_exp] = m_p;
  st[ms_pos_denom] = d_p;
  st[ms_max_neg_exp] = m_n;
  st[ms_neg_denom] = d_n;
  row_loss[i] = (m_p + log_t<T>(d_p)) / alpha + (m_n + log_t<T>(d_n)) / beta;
}

// dsim[i, j] = scale · ∂loss_i/∂s_ij: −e^{a − m_p} / D_p for a kept positive, e^{b − m_n} / D_n for a kept
// negative, 0 otherwise (masked rows and columns, the diagonal of the batch loss, pairs the mining dropped).
template <class T>
PRISM_HD T ms_grad_one(const T* sim, const T* stats, const int32_t* row_labels, const int32_t* col_labels,
                       const int32_t* row_mask, const int32_t* col_mask, int64_t cols,
                       const MultiSimilarityParams& p, T scale, int64_t idx) {
  const int64_t i = idx / cols, j = idx % cols;
  if (row_mask && !row_mask[i]) return T(0);
  const int sign = ms_pair_sign(row_labels, col_labels, col_mask, p.skip_diagonal, i, j);
  const T* st = stats + i * kMsStats;
  const T s = sim[idx];
  if (!ms_mined(sign, s, st, T(p.epsilon))) return T(0);
  if (sign > 0) {
    const T x = T(p.alpha) * (T(p.base) - s);
    return -(exp_t<T>(x - st[ms_max_pos_exp]) / st[ms_pos_denom]) * scale;
  }
  const T x = T(p.beta) * (s - T(p.base));
  return (exp_t<T>(x - st[ms_max_neg_exp]) / st[ms_neg_denom]) * scale;
}

// ---- SoftTriple loss (Qian et al. 2019) --------------------------------------------------------------------
// sim [R, C·K]: row i against the K centers of each of the C classes (center t of class c in column c·K + t).
// Per class: p_t = softmax_t(s_t / γ) (max subtracted), S_c = Σ_t p_t s_t. Logits l_c = λ(S_c − δ[c = y_i]);
// loss_i = lse_i − l_{y_i} with lse_i = M + log Σ_c e^{l_c − M}, M = max_c l_c (cross-entropy).

// S_c of row `s` for class c.
template <class T>
PRISM_HD T softtriple_class_sim(const T* s, int64_t c, int64_t K, T gamma_inv) {
  const T* sc = s + c * K;
  T mx = gamma_inv * sc[0];
  for (int64_t t = 1; t < K; ++t) mx = gamma_inv * sc[t] > mx ? gamma_inv * sc[t] : mx;
  const T denom =
      chunked_reduce<T>(K, [&](int64_t t, T acc) { return acc + exp_t<T>(gamma_inv * sc[t] - mx); });
  return chunked_reduce<T>(
      K, [&](int64_t t, T acc) { return acc + (exp_t<T>(gamma_inv * sc[t] - mx) / denom) * sc[t]; });
}

template <class T>
PRISM_HD T softtriple_logit(const T* s, int32_t label, int64_t c, int64_t K, const SoftTripleParams& p) {
  const T S = softtriple_class_sim<T>(s, c, K, T(p.gamma_inv));
  return T(p.la) * (c == label ? S - T(p.margin) : S);
}

// Writes row i's loss and its log-sum-exp over the classes (saved for the backward pass; 0 for a masked row).
template <class T>
PRISM_HD void softtriple_row(T* row_loss, T* row_lse, const T* sim, const int32_t* labels,
                             const int32_t* row_mask, int64_t classes, int64_t K, const SoftTripleParams& p,
                             int64_t i) {
  row_loss[i] = T(0);
  row_lse[i] = T(0);
  if ((row_mask && !row_mask[i]) || classes <= 0) return;
  const T* s = sim + i * classes * K;
  const int32_t y = labels[i];
  T mx = softtriple_logit<T>(s, y, 0, K, p);
  for (int64_t c = 1; c < classes; ++c) {
    const T l = softtriple_logit<T>(s, y, c, K, p);
    mx = l > mx ? l : mx;
  }
  const T total = chunked_reduce<T>(
      classes, [&](int64_t c, T acc) { return acc + exp_t<T>(softtriple_logit<T>(s, y, c, K, p) - mx); });
  const T lse = mx + log_t<T>(total);
  row_lse[i] = lse;
  row_loss[i] = lse - softtriple_logit<T>(s, y, y, K, p);
}

// dsim[i, c·K + t] = scale · λ (e^{l_c − lse_i} − [c = y_i]) · p_t (1 + (s_t − S_c)/γ): the cross-entropy's
// softmax minus one-hot, through S_c = Σ p_t s_t (∂S_c/∂s_t = p_t(1 + (s_t − S_c)/γ), docs/prism.md).
template <class T>
PRISM_HD T softtriple_grad_one(const T* sim, const T* row_lse, const int32_t* labels, const int32_t* row_mask,
                               int64_t classes, int64_t K, const SoftTripleParams& p, T scale, int64_t idx) {
  const int64_t width = classes * K;
  const int64_t i = idx / width, c = (idx % width) / K, t = idx % K;
  if (row_mask && !row_mask[i]) return T(0);
  const T* s = sim + i * width;
  const int32_t y = labels[i];
  const T gamma_inv = T(p.gamma_inv);
  // p_t of this one center, in the arithmetic of softtriple_class_sim.
  const T* sc = s + c * K;
  T mx = gamma_inv * sc[0];
  for (int64_t u = 1; u < K; ++u) mx = gamma_inv * sc[u] > mx ? gamma_inv * sc[u] : mx;
  const T denom =
      chunked_reduce<T>(K, [&](int64_t u, T acc) { return acc + exp_t<T>(gamma_inv * sc[u] - mx); });
  const T pt = exp_t<T>(gamma_inv * sc[t] - mx) / denom;
  const T S = softtriple_class_sim<T>(s, c, K, gamma_inv);
  const T l = T(p.la) * (c == y ? S - T(p.margin) : S);
  const T dlogit = exp_t<T>(l - row_lse[i]) - (c == y ? T(1) : T(0));
  return T(p.la) * dlogit * (pt * (T(1) + gamma_inv * (sc[t] - S))) * scale;
}

// The centre regulariser of SoftTriple as the original code computes it (idstcv/SoftTriple): over the pairs
// t < u of one class's unit centers w (rows of centers [C·K, d]),
//   f(s_tu) = sqrt(2 + 1e-5 − 2 s_tu) = sqrt(‖w_t − w_u‖² + 1e-5),  s_tu = w_t · w_u (one fma chain over d).
// The 1e-5 keeps f'(s) = −1/f(s) finite where two centers coincide — the regulariser pulls a class's centers
// together, so they do (pml's SparseCentersRegularizer adds FLT_MIN instead, which vanishes next to 2 in float
// and gives an infinite gradient there). Row g = c·K + t: reg[g] = Σ_{u > t} f(s_tu), and dfac[g, u] = f'(s_tu)
// for every u of the class (0 for u = t), saved for the backward pass.
template <class T>
PRISM_HD void softtriple_reg_row(T* reg, T* dfac, const T* centers, int64_t K, int64_t dim, int64_t g) {
  const int64_t c = g / K, t = g % K;
  const T* wt = centers + g * dim;
  const T two_plus_eps = T(2) + T(1e-5f);
  T total = T(0);
  for (int64_t u = 0; u < K; ++u) {
    T* df = dfac + g * K + u;
    if (u == t) {
      *df = T(0);
      continue;
    }
    const T* wu = centers + (c * K + u) * dim;
    T dot = T(0);
    for (int64_t d = 0; d < dim; ++d) dot = fma_t<T>(wt[d], wu[d], dot);
    const T root = sqrt_t<T>(two_plus_eps - T(2) * dot);
    *df = -(T(1) / root);
    if (u > t) total = total + root;
  }
  reg[g] = total;
}

// dcenters[g, d] = scale · Σ_{u ≠ t} dfac[g, u] · w_u[d] (each pair appears once in the sum, ∂/∂w_t of f(w_t·w_u)).
template <class T>
PRISM_HD T softtriple_reg_grad_one(const T* dfac, const T* centers, int64_t K, int64_t dim, T scale,
                                   int64_t idx) {
  const int64_t g = idx / dim, d = idx % dim, c = g / K;
  T total = T(0);
  for (int64_t u = 0; u < K; ++u) total = fma_t<T>(dfac[g * K + u], centers[(c * K + u) * dim + d], total);
  return total * scale;
}

}  // namespace prism::kern
