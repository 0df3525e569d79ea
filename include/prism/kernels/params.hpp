// The plain parameter types the kernels take: op selectors (UnaryOp, BinaryOp, GemmOrder), the conv and pool
// shapes, the optimizer and loss hyper-parameters. Reference definitions, host and device; no other dependency, so
// the kernel bodies (include/prism/kernels/*.hpp) include this rather than the whole backend interface.
#pragma once
#include <cstdint>

#include "prism/kernels/hd.hpp"

namespace prism {

enum class UnaryOp : int { relu, exp, log, neg, square, sqrt };
enum class BinaryOp : int { add, sub, mul, div };

// Order of the reduction axis of a GEMM (DESIGN §3 rules 2 and 3).
//   chain:   each output is one FMA chain over k = 0..K-1 from 0 (forward products).
//   chunked: k is cut into chunks of kern::kReduceChunk; each chunk is an FMA chain from 0; the chunk
//   partials
//            are added in order, p0 + p1 + … (every gradient product, input and weight gradients alike: see
//            src/core/ops_linalg.cpp and ops_conv.cpp).
enum class GemmOrder : int { chain, chunked };

struct Conv2dShape {
  int64_t n, c, h, w;                                                      // input N×C×H×W
  int64_t kh, kw;                                                          // kernel
  int64_t stride, pad;                                                     // same in both directions
  PRISM_HD int64_t oh() const { return (h + 2 * pad - kh) / stride + 1; }  // host and device (kernel bodies)
  PRISM_HD int64_t ow() const { return (w + 2 * pad - kw) / stride + 1; }
};

// ceil: torch's ceil_mode — the output size rounds up, so a last window may hang over the bottom/right edge
// (it still starts inside the input or its left/top padding); its taps there are skipped as padding is.
struct Pool2dShape {
  int64_t n, c, h, w;
  int64_t k, stride, pad;
  bool ceil = false;
  PRISM_HD static int64_t out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, bool ceil) {
    const int64_t span = in + 2 * pad - k;
    if (!ceil) return span / stride + 1;
    int64_t out = (span + stride - 1) / stride + 1;
    if ((out - 1) * stride >= in + pad) --out;  // a window must start inside the input or its left padding
    return out;
  }
  PRISM_HD int64_t oh() const { return out_size(h, k, stride, pad, ceil); }
  PRISM_HD int64_t ow() const { return out_size(w, k, stride, pad, ceil); }
};

// Build with kern::adam_params (kernels/optim.hpp), which derives the last four fields on the host in double.
struct AdamParams {
  float lr, beta1, beta2, eps, weight_decay;
  float step_size;              // lr / (1 − beta1^t), computed once on the host in double
  float bias_correction2_sqrt;  // sqrt(1 − beta2^t), likewise
  // 1 − beta1 and 1 − beta2 from the double betas, rounded once: torch multiplies by the Python float (1 −
  // β), and 1.0f − 0.999f is 1.3e-5 away (relative) from float(1 − 0.999).
  float one_minus_beta1, one_minus_beta2;
};

struct SgdParams {
  float lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first_step;  // torch initialises the momentum buffer with the first gradient
};

// Multi-similarity loss (Wang et al. 2019) with its hard-pair mining. skip_diagonal ≠ 0 when the columns are
// the rows themselves (the batch loss): pair (i, i) is then neither a positive nor a negative.
struct MultiSimilarityParams {
  float alpha = 2.0f;    // weight of positive pairs
  float beta = 50.0f;    // weight of negative pairs
  float base = 0.5f;     // λ, the similarity both exponents are measured from
  float epsilon = 0.1f;  // mining margin ε
  int32_t skip_diagonal = 0;
};

// SoftTriple loss (Qian et al. 2019) over K centers per class.
struct SoftTripleParams {
  float la = 20.0f;         // λ, the scale of the class logits
  float gamma_inv = 10.0f;  // 1/γ, the scale inside the softmax over a class's centers
  float margin = 0.01f;     // δ, subtracted from the true class's similarity
};

}  // namespace prism
