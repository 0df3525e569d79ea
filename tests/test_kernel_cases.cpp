// The kernel case table of tests/kernel_cases.hpp (reference test harness): every op of backend.hpp with
// shapes that reach its edges — partial tiles, several reduction chunks, work split across threads, ties,
// signed zeros, subnormals, ±inf, NaN, the kinks of the contrastive loss, empty groups — and conv-net sized
// cases for the GPU. The checks of the table itself (every Op has a case, every budget within the design's
// bound) are in tests/test_parity.cpp.
//
// To add a case: push a Case in one of the add_*_cases() functions below: its arguments (fin / fout /
// finout / iin / iout), how `init` fills the inputs from Philox, the call in `run`, a budget from
// kernel_cases.hpp, and `specials` / `large` where they apply.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "kernel_cases.hpp"
#include "prism/kernels/batchnorm.hpp"
#include "prism/kernels/dml.hpp"
#include "prism/kernels/elementwise.hpp"
#include "prism/kernels/normalize.hpp"
#include "prism/kernels/optim.hpp"
#include "prism/kernels/pool.hpp"

namespace prism::testing {

// ---- input fills ------------------------------------------------------------------------------------------

void Host::spread(size_t k, InputRng& rng) {
  for (int64_t j = 0; j < n(k); ++j)
    f(k)[j] = rng.uniform(-1, 1) * std::ldexp(1.0f, static_cast<int>(rng.below(24)) - 12);
}

void Host::coarse(size_t k, int levels, InputRng& rng) {
  for (int64_t j = 0; j < n(k); ++j) f(k)[j] = static_cast<float>(rng.below(levels)) / 4.0f - 1.0f;
}

void Host::put(size_t k, const std::vector<float>& values) {
  for (size_t m = 0; m < values.size() && static_cast<int64_t>(m * 7) < n(k); ++m) f(k)[m * 7] = values[m];
}

const std::vector<float>& special_values() {
  constexpr float inf = std::numeric_limits<float>::infinity();
  static const std::vector<float> s = {0.0f,
                                       -0.0f,
                                       1.0f,
                                       -1.0f,
                                       inf,
                                       -inf,
                                       std::numeric_limits<float>::quiet_NaN(),
                                       1e-40f,
                                       -1e-40f,
                                       std::numeric_limits<float>::min(),
                                       std::numeric_limits<float>::max(),
                                       88.72f,
                                       88.73f,
                                       -87.3f,
                                       -103.9f,
                                       -104.0f,
                                       0.5f,
                                       2.0f};
  return s;
}

namespace {

Case with_specials(Case c) {
  c.specials = true;
  return c;
}
Case large(Case c) {
  c.large = true;
  return c;
}

std::string conv_params(const Conv2dShape& s) {
  std::ostringstream os;
  os << "x[" << s.n << "," << s.c << "," << s.h << "," << s.w << "] k " << s.kh << "x" << s.kw << " stride "
     << s.stride << " pad " << s.pad;
  return os.str();
}
std::string pool_params(const Pool2dShape& s) {
  std::ostringstream os;
  os << "x[" << s.n << "," << s.c << "," << s.h << "," << s.w << "] k " << s.k << " stride " << s.stride
     << " pad " << s.pad << (s.ceil ? " ceil" : "");
  return os.str();
}
const char* unary_name(UnaryOp op) {
  static const char* names[] = {"relu", "exp", "log", "neg", "square", "sqrt"};
  return names[static_cast<int>(op)];
}
const char* binary_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div"};
  return names[static_cast<int>(op)];
}
constexpr UnaryOp kUnaryOps[] = {UnaryOp::relu, UnaryOp::exp,    UnaryOp::log,
                                 UnaryOp::neg,  UnaryOp::square, UnaryOp::sqrt};
constexpr BinaryOp kBinaryOps[] = {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div};

// ---- memory -----------------------------------------------------------------------------------------------

void add_memory_cases(std::vector<Case>& cs) {
  for (int64_t n : {1, 777, 1000, 70000}) {
    const float fv = n == 1000 ? 0.37f : -0.375f;
    const int32_t iv = n == 777 ? -5 : -7;
    std::ostringstream f, i;
    f << "f32 n=" << n << " value=" << fv;
    i << "i32 n=" << n << " value=" << iv;
    cs.push_back({Op::fill,
                  f.str(),
                  {fout("x", n)},
                  nullptr,
                  [n, fv](Backend& be, const Ptrs& p) { be.fill_f32(p.f(0), fv, n); },
                  kTolSame});
    cs.push_back({Op::fill,
                  i.str(),
                  {iout("x", n)},
                  nullptr,
                  [n, iv](Backend& be, const Ptrs& p) { be.fill_i32(p.i(0), iv, n); },
                  kTolSame});
    cs.push_back({Op::copy,
                  "n=" + std::to_string(n),
                  {fin("src", n), fout("dst", n)},
                  nullptr,
                  [n](Backend& be, const Ptrs& p) { be.copy(p.f(1), p.f(0), n * sizeof(float)); },
                  kTolSame});
  }
}

// ---- gemm -------------------------------------------------------------------------------------------------

Case gemm_case(int64_t M, int64_t N, int64_t K, bool ta, bool tb, float alpha, GemmOrder order, bool spread,
               double tol, const char* note = "") {
  std::ostringstream os;
  os << "M=" << M << " N=" << N << " K=" << K << " trans_a=" << ta << " trans_b=" << tb << " alpha=" << alpha
     << " order=" << (order == GemmOrder::chain ? "chain" : "chunked") << (spread ? " spread" : "") << note;
  return {Op::gemm,
          os.str(),
          {fin("A", M * K), fin("B", K * N), fout("C", M * N)},
          [spread](Host& h, InputRng& rng) {
            if (spread) h.spread(0, rng), h.spread(1, rng);
          },
          [=](Backend& be, const Ptrs& p) { be.gemm(p.f(2), p.f(0), p.f(1), M, N, K, ta, tb, alpha, order); },
          tol};
}

void add_gemm_cases(std::vector<Case>& cs) {
  // Inputs in [−1, 1), alpha 1 and −0.5 (K = 0 with −0.5: the output is −0).
  struct U {
    int64_t M, N, K;
    bool all_transposes;
  };
  for (const U& s : {U{1, 1, 1, true}, U{7, 13, 5, true}, U{37, 29, 300, true}, U{64, 48, 513, false},
                     U{3, 5, 0, false}, U{1, 4100, 33, false}, U{200, 9, 1000, false}, U{9, 200, 256, false}})
    for (int t = 0; t < (s.all_transposes ? 4 : 1); ++t)
      for (GemmOrder order : {GemmOrder::chain, GemmOrder::chunked})
        for (float alpha : {1.0f, -0.5f})
          cs.push_back(gemm_case(s.M, s.N, s.K, t & 1, t & 2, alpha, order, false, kTolSum));
  // Spread magnitudes; partial 64-wide tiles (63, 65), one chunk and a half (300), several chunks (513, 600).
  struct S {
    int64_t M, N, K;
  };
  int index = 0;
  for (const S& s :
       {S{5, 7, 3}, S{64, 64, 16}, S{65, 63, 17}, S{37, 45, 300}, S{20, 30, 600}, S{3, 130, 513}})
    for (int t = 0; t < 4; ++t)
      for (GemmOrder order : {GemmOrder::chain, GemmOrder::chunked}) {
        const float alpha = index++ % 3 == 2 ? 0.375f : 1.0f;
        cs.push_back(gemm_case(s.M, s.N, s.K, t & 1, t & 2, alpha, order, true, kTolSum));
      }
  cs.push_back({Op::gemm,
                "M=4 N=5 K=0 A=B=null (zeros)",
                {fout("C", 20)},
                nullptr,
                [](Backend& be, const Ptrs& p) {
                  be.gemm(p.f(0), nullptr, nullptr, 4, 5, 0, false, false, 1.0f, GemmOrder::chain);
                },
                kTolSum});
  // The fmnist-cnn shapes: conv forward rows · Wᵀ (chain) and the weight gradient over the batch (chunked).
  cs.push_back(large(
      gemm_case(50176, 32, 288, false, true, 1.0f, GemmOrder::chain, false, kTolSum, " (conv forward)")));
  cs.push_back(large(gemm_case(32, 288, 50176, true, false, 1.0f, GemmOrder::chunked, false, kTolLong,
                               " (conv weight gradient)")));
  cs.push_back(large(gemm_case(512, 512, 512, false, false, 0.5f, GemmOrder::chunked, true, kTolSum)));
}

// ---- conv -------------------------------------------------------------------------------------------------

// conv2d_forward and conv2d_backward (dx only, dw only, both) of one shape.
void add_whole_conv_cases(std::vector<Case>& cs, const Conv2dShape& s, int64_t co) {
  const int64_t P = s.oh() * s.ow(), ckk = s.c * s.kh * s.kw, nin = s.n * s.c * s.h * s.w;
  const std::string params = conv_params(s) + " co " + std::to_string(co);
  cs.push_back(
      {Op::conv2d_forward,
       params,
       {fin("in", nin), fin("w", co * ckk), fout("out", s.n * co * P)},
       nullptr,
       [s, co](Backend& be, const Ptrs& p) { be.conv2d_forward(p.f(2), p.f(0), p.f(1), nullptr, s, co); },
       kTolSum});
  for (int want = 1; want <= 3; ++want)  // dx, dw, both
    cs.push_back({Op::conv2d_backward,
                  params + (want == 1   ? " dx only"
                            : want == 2 ? " dw only"
                                        : ""),
                  {fin("dout", s.n * co * P), fin("in", nin), fin("w", co * ckk), fout("dx", nin),
                   fout("dw", co * ckk)},
                  nullptr,
                  [s, co, want](Backend& be, const Ptrs& p) {
                    if (!(want & 1)) be.fill_f32(p.f(3), 0.0f, s.n * s.c * s.h * s.w);
                    if (!(want & 2)) be.fill_f32(p.f(4), 0.0f, co * s.c * s.kh * s.kw);
                    be.conv2d_backward(want & 1 ? p.f(3) : nullptr, want & 2 ? p.f(4) : nullptr, nullptr,
                                       p.f(0), p.f(1), p.f(2), s, co);
                  },
                  kTolSum});
}

// C·KH·KW = 864 > 768: the fused forward's chain carried over k panels, with A packed whole (Co = 8) and past
// the shared-A blocking (Co = 160). Appended at the end of the table: a case's inputs are drawn from its index,
// so a new case goes last and leaves every earlier case's inputs as they were.
void add_deep_conv_cases(std::vector<Case>& cs) {
  add_whole_conv_cases(cs, {1, 96, 5, 5, 3, 3, 1, 1}, 8);
  add_whole_conv_cases(cs, {1, 96, 4, 4, 3, 3, 1, 1}, 160);
}

// An output row of 37 with 18 taps and Co = 11: the direct few-tap forward past two vector widths and with a
// partial block of output channels, and the stride-1 weight gradient's and col2im's runs over several register
// blocks. Then 9 taps, N·P = 800 (four chunks, the last partial) and Co = 40 (a full and a partial block of 32
// lanes): the few-tap weight gradient's chunk parts and their ordered sum. Appended at the end, as above.
void add_wide_row_conv_cases(std::vector<Case>& cs) {
  add_whole_conv_cases(cs, {1, 2, 5, 37, 3, 3, 1, 1}, 11);
  add_whole_conv_cases(cs, {2, 1, 20, 20, 3, 3, 1, 1}, 40);
}

// Stride-1 input gradients whose taps reach past the map on both sides by different amounts (the gathering
// col2im's lane masks): a 5 × 3 kernel with padding 2 (outputs wider than the input, rows of 35 across
// vector widths), and a 3 × 5 kernel with no padding (a tap window inside the map). Appended at the end, as above.
void add_gather_col2im_conv_cases(std::vector<Case>& cs) {
  add_whole_conv_cases(cs, {1, 2, 4, 35, 5, 3, 1, 2}, 6);
  add_whole_conv_cases(cs, {2, 3, 6, 19, 3, 5, 1, 0}, 4);
}

// The conv with a bias: the forward's + bias (the CPU's direct few-tap kernel adds it in registers after each
// chain; the GEMM path adds it after), and the backward's bias gradient (the few-tap weight gradient sums dout in
// the same pass; otherwise reduce_mid), alone and with the other gradients. Few-tap shapes (two blocks of 32
// lanes, one partial; 18 taps on rows of 37), a forward past the direct kernel's 32 taps, and stride 2.
// Appended at the end, as above.
void add_bias_conv_cases(std::vector<Case>& cs) {
  struct B {
    Conv2dShape s;
    int64_t co;
  };
  for (const B& v : {B{{2, 1, 20, 20, 3, 3, 1, 1}, 40}, B{{1, 2, 5, 37, 3, 3, 1, 1}, 11},
                     B{{2, 4, 6, 6, 3, 3, 1, 1}, 7}, B{{4, 4, 9, 9, 3, 3, 2, 1}, 12}}) {
    const Conv2dShape s = v.s;
    const int64_t co = v.co, P = s.oh() * s.ow(), ckk = s.c * s.kh * s.kw, nin = s.n * s.c * s.h * s.w;
    const std::string params = conv_params(s) + " co " + std::to_string(co) + " bias";
    cs.push_back(
        {Op::conv2d_forward,
         params,
         {fin("in", nin), fin("w", co * ckk), fin("b", co), fout("out", s.n * co * P)},
         nullptr,
         [s, co](Backend& be, const Ptrs& p) { be.conv2d_forward(p.f(3), p.f(0), p.f(1), p.f(2), s, co); },
         kTolSum});
    for (int want = 4; want <= 7; want += 2)  // db only (4), dw + db (6); then all three below
      cs.push_back({Op::conv2d_backward,
                    params + (want == 4 ? " db only" : " dw + db"),
                    {fin("dout", s.n * co * P), fin("in", nin), fin("w", co * ckk), fout("dx", nin),
                     fout("dw", co * ckk), fout("db", co)},
                    nullptr,
                    [s, co, want](Backend& be, const Ptrs& p) {
                      be.fill_f32(p.f(3), 0.0f, s.n * s.c * s.h * s.w);
                      if (!(want & 2)) be.fill_f32(p.f(4), 0.0f, co * s.c * s.kh * s.kw);
                      be.conv2d_backward(nullptr, want & 2 ? p.f(4) : nullptr, p.f(5), p.f(0), p.f(1), p.f(2),
                                         s, co);
                    },
                    kTolSum});
    cs.push_back({Op::conv2d_backward,
                  params + " dx + dw + db",
                  {fin("dout", s.n * co * P), fin("in", nin), fin("w", co * ckk), fout("dx", nin),
                   fout("dw", co * ckk), fout("db", co)},
                  nullptr,
                  [s, co](Backend& be, const Ptrs& p) {
                    be.conv2d_backward(p.f(3), p.f(4), p.f(5), p.f(0), p.f(1), p.f(2), s, co);
                  },
                  kTolSum});
  }
}

void add_conv_cases(std::vector<Case>& cs) {
  struct S {
    Conv2dShape s;
    bool spread;  // col2im's col in spread magnitudes
  };
  for (const S& v : {S{{2, 3, 7, 7, 3, 3, 1, 1}, false}, S{{2, 3, 7, 7, 3, 3, 2, 0}, false},
                     S{{1, 2, 6, 9, 2, 3, 2, 1}, false}, S{{1, 1, 1, 1, 1, 1, 1, 0}, false},
                     S{{8, 1, 28, 28, 3, 3, 1, 1}, false}, S{{2, 3, 9, 8, 3, 3, 1, 1}, true},
                     S{{1, 2, 11, 10, 5, 3, 2, 2}, true}, S{{2, 1, 7, 7, 2, 2, 3, 0}, true},
                     S{{1, 4, 5, 5, 1, 1, 1, 0}, true}}) {
    const Conv2dShape s = v.s;
    const int64_t rows = s.n * s.oh() * s.ow(), ckk = s.c * s.kh * s.kw, nin = s.n * s.c * s.h * s.w;
    cs.push_back({Op::im2col,
                  conv_params(s),
                  {fin("in", nin), fout("col", rows * ckk)},
                  nullptr,
                  [s](Backend& be, const Ptrs& p) { be.im2col(p.f(1), p.f(0), s); },
                  kTolSame});
    cs.push_back({Op::col2im,
                  conv_params(s) + (v.spread ? " spread" : ""),
                  {fin("col", rows * ckk), fout("din", nin)},
                  [spread = v.spread](Host& h, InputRng& rng) {
                    if (spread) h.spread(0, rng);
                  },
                  [s](Backend& be, const Ptrs& p) { be.col2im(p.f(1), p.f(0), s); },
                  kTolSum});
  }
  // The whole conv (Backend::conv2d_forward / conv2d_backward): every backend against the composition that
  // defines it. Shapes: output planes that do not fill the micro-tile's columns (P = 49, 25, 9: tiles straddle
  // images), C·KH·KW > 256 (the forward's chain carries over k panels), N·P > 256 (several chunks of the
  // weight gradient), Co > 256 (the input gradient's sum over Co in two chunks), Co·CKK narrow (the swapped
  // weight-gradient orientation), stride 2 and padding 0 / 2.
  struct F {
    Conv2dShape s;
    int64_t co;
  };
  for (const F& v :
       {F{{2, 3, 7, 7, 3, 3, 1, 1}, 5}, F{{3, 1, 12, 12, 3, 3, 1, 1}, 8}, F{{2, 32, 7, 7, 3, 3, 1, 1}, 16},
        F{{4, 4, 9, 9, 3, 3, 2, 1}, 12}, F{{2, 2, 6, 7, 3, 3, 2, 0}, 3}, F{{1, 2, 11, 10, 5, 3, 2, 2}, 7},
        F{{2, 3, 5, 5, 3, 3, 1, 1}, 300}, F{{3, 4, 5, 5, 1, 1, 1, 0}, 2}, F{{1, 1, 1, 1, 1, 1, 1, 0}, 1}})
    add_whole_conv_cases(cs, v.s, v.co);
  // The fmnist-cnn layers at batch 64 (GPU only: too slow for the reference loops).
  for (const F& v : {F{{64, 1, 28, 28, 3, 3, 1, 1}, 32}, F{{64, 32, 14, 14, 3, 3, 1, 1}, 64},
                     F{{64, 64, 7, 7, 3, 3, 1, 1}, 128}}) {
    const Conv2dShape s = v.s;
    const int64_t co = v.co, P = s.oh() * s.ow(), ckk = s.c * s.kh * s.kw, nin = s.n * s.c * s.h * s.w;
    const std::string params = conv_params(s) + " co " + std::to_string(co) + " (fmnist-cnn)";
    cs.push_back(large(
        {Op::conv2d_forward,
         params,
         {fin("in", nin), fin("w", co * ckk), fout("out", s.n * co * P)},
         nullptr,
         [s, co](Backend& be, const Ptrs& p) { be.conv2d_forward(p.f(2), p.f(0), p.f(1), nullptr, s, co); },
         kTolSum}));
    cs.push_back(large({Op::conv2d_backward,
                        params,
                        {fin("dout", s.n * co * P), fin("in", nin), fin("w", co * ckk), fout("dx", nin),
                         fout("dw", co * ckk)},
                        nullptr,
                        [s, co](Backend& be, const Ptrs& p) {
                          be.conv2d_backward(p.f(3), p.f(4), nullptr, p.f(0), p.f(1), p.f(2), s, co);
                        },
                        kTolSum}));
  }
  const Conv2dShape big{64, 32, 14, 14, 3, 3, 1, 1};
  const int64_t rows = big.n * big.oh() * big.ow(), ckk = big.c * 9, nin = big.n * big.c * big.h * big.w;
  cs.push_back(large({Op::col2im,
                      conv_params(big),
                      {fin("col", rows * ckk), fout("din", nin)},
                      nullptr,
                      [big](Backend& be, const Ptrs& p) { be.col2im(p.f(1), p.f(0), big); },
                      kTolSum}));
}

// ---- elementwise ------------------------------------------------------------------------------------------

void add_unary_cases(std::vector<Case>& cs) {
  for (int64_t n : {1, 1000, 40000}) {  // 40000 > the CPU's 16384-element grain: split across threads
    const std::string sz = " n=" + std::to_string(n);
    for (UnaryOp op : kUnaryOps) {
      const bool positive = op == UnaryOp::log || op == UnaryOp::sqrt;
      auto init = [op, positive](Host& h, InputRng& rng) {
        if (positive) h.uniform(0, 0.01f, 4.0f, rng);
        if (op == UnaryOp::exp) h.uniform(0, -20.0f, 20.0f, rng);
        if (op == UnaryOp::relu) h.f(0)[0] = 0.0f;  // the kink
      };
      cs.push_back({Op::unary_forward,
                    unary_name(op) + sz,
                    {fin("in", n), fout("out", n)},
                    init,
                    [op, n](Backend& be, const Ptrs& p) { be.unary_forward(op, p.f(1), p.f(0), n); },
                    op == UnaryOp::exp || op == UnaryOp::log ? kTolUlp : kTolSame});
      // `out` is the forward output (exp, sqrt use it), computed on the host by the reference.
      auto init_b = [op, positive](Host& h, InputRng& rng) {
        if (positive) h.uniform(1, 0.01f, 4.0f, rng);
        if (op == UnaryOp::relu) h.f(1)[0] = 0.0f;
        for (int64_t j = 0; j < h.n(1); ++j) h.f(2)[j] = kern::unary_one(op, h.f(1)[j]);
      };
      cs.push_back(
          {Op::unary_backward,
           unary_name(op) + sz,
           {fin("dout", n), fin("in", n), fin("out", n), fout("din", n)},
           init_b,
           [op, n](Backend& be, const Ptrs& p) { be.unary_backward(op, p.f(3), p.f(0), p.f(1), p.f(2), n); },
           kTolSame});
    }
  }
  // Special values among the inputs; exp from deep underflow (−110) to overflow (95), log over 24 binades.
  for (UnaryOp op : kUnaryOps) {
    cs.push_back(
        with_specials({Op::unary_forward,
                       std::string(unary_name(op)) + " n=3000 with specials",
                       {fin("in", 3000), fout("out", 3000)},
                       [op](Host& h, InputRng& rng) {
                         if (op == UnaryOp::exp) h.uniform(0, -110.0f, 95.0f, rng);
                         if (op == UnaryOp::log) h.spread(0, rng);
                         if (op != UnaryOp::exp && op != UnaryOp::log) h.uniform(0, -3.0f, 3.0f, rng);
                         if (op == UnaryOp::log || op == UnaryOp::sqrt)
                           for (int64_t j = 0; j < h.n(0); ++j) h.f(0)[j] = std::fabs(h.f(0)[j]);
                         h.put(0, special_values());
                       },
                       [op](Backend& be, const Ptrs& p) { be.unary_forward(op, p.f(1), p.f(0), 3000); },
                       op == UnaryOp::exp || op == UnaryOp::log ? kTolUlp : kTolSame}));
    // Signed zeros at the ReLU kink (log' = 1/x is infinite there); `out` unrelated to `in`.
    Case backward = {
        Op::unary_backward,
        std::string(unary_name(op)) + " n=1000 (±0 inputs)",
        {fin("dout", 1000), fin("in", 1000), fin("out", 1000), fout("din", 1000)},
        [](Host& h, InputRng& rng) {
          h.uniform(1, -2.0f, 2.0f, rng);
          h.uniform(2, 0.1f, 3.0f, rng);
          h.put(1, {0.0f, -0.0f});
        },
        [op](Backend& be, const Ptrs& p) { be.unary_backward(op, p.f(3), p.f(0), p.f(1), p.f(2), 1000); },
        kTolSame};
    backward.specials = op == UnaryOp::log;
    cs.push_back(backward);
  }
  cs.push_back({Op::unary_backward,
                "neg n=100 (in and out null)",
                {fin("dout", 100), fout("din", 100)},
                nullptr,
                [](Backend& be, const Ptrs& p) {
                  be.unary_backward(UnaryOp::neg, p.f(1), p.f(0), nullptr, nullptr, 100);
                },
                kTolSame});
}

void add_binary_cases(std::vector<Case>& cs) {
  for (int64_t n : {1, 1000, 40000}) {
    const std::string sz = " n=" + std::to_string(n);
    for (BinaryOp op : kBinaryOps) {
      auto init = [op](Host& h, InputRng& rng) {
        if (op == BinaryOp::div) h.signed_magnitude(1, 0.25f, 2.0f, rng);
      };
      cs.push_back({Op::binary,
                    binary_name(op) + sz,
                    {fin("a", n), fin("b", n), fout("out", n)},
                    init,
                    [op, n](Backend& be, const Ptrs& p) { be.binary(op, p.f(2), p.f(0), p.f(1), n); },
                    kTolSame});
      cs.push_back({Op::binary_scalar,
                    binary_name(op) + sz + " b=-1.625",
                    {fin("a", n), fout("out", n)},
                    nullptr,
                    [op, n](Backend& be, const Ptrs& p) { be.binary_scalar(op, p.f(1), p.f(0), -1.625f, n); },
                    kTolSame});
    }
  }
  for (BinaryOp op : kBinaryOps) {
    cs.push_back(
        with_specials({Op::binary,
                       std::string(binary_name(op)) + " n=2000 spread, b with specials",
                       {fin("a", 2000), fin("b", 2000), fout("out", 2000)},
                       [](Host& h, InputRng& rng) {
                         h.spread(0, rng);
                         h.spread(1, rng);
                         h.put(1, special_values());
                       },
                       [op](Backend& be, const Ptrs& p) { be.binary(op, p.f(2), p.f(0), p.f(1), 2000); },
                       kTolSame}));
    cs.push_back({Op::binary_scalar,
                  std::string(binary_name(op)) + " n=500 spread b=-0.3",
                  {fin("a", 500), fout("out", 500)},
                  [](Host& h, InputRng& rng) { h.spread(0, rng); },
                  [op](Backend& be, const Ptrs& p) { be.binary_scalar(op, p.f(1), p.f(0), -0.3f, 500); },
                  kTolSame});
  }
  struct B {
    int64_t outer, mid, inner;
    bool spread;  // a spread, b in [0.5, 2)
  };
  for (const B& s : {B{1, 1, 1, false}, B{300, 3, 1, false}, B{4, 32, 49, false}, B{64, 128, 1, false},
                     B{2, 3, 9000, false}, B{3, 5, 7, true}, B{3, 5, 1, true}})
    for (BinaryOp op : kBinaryOps) {
      std::ostringstream os;
      os << binary_name(op) << " outer=" << s.outer << " mid=" << s.mid << " inner=" << s.inner
         << (s.spread ? " spread" : "");
      const int64_t n = s.outer * s.mid * s.inner;
      auto init = [op, spread = s.spread](Host& h, InputRng& rng) {
        if (spread) {
          h.spread(0, rng);
          h.uniform(1, 0.5f, 2.0f, rng);
        } else if (op == BinaryOp::div) {
          h.signed_magnitude(1, 0.25f, 2.0f, rng);
        }
      };
      cs.push_back({Op::broadcast_binary,
                    os.str(),
                    {fin("a", n), fin("b", s.mid), fout("out", n)},
                    init,
                    [op, s](Backend& be, const Ptrs& p) {
                      be.broadcast_binary(op, p.f(2), p.f(0), p.f(1), s.outer, s.mid, s.inner);
                    },
                    kTolSame});
    }
}

// ---- reductions, transpose --------------------------------------------------------------------------------

void add_reduce_cases(std::vector<Case>& cs) {
  const std::function<void(Host&, InputRng&)> fill_spread = [](Host&h, InputRng&rng) { h.spread(0, rng); },
                                              none;
  // Around one chunk (255..257), five chunks (1025: the parallel chunked path), many.
  for (auto [n, spread] : {std::pair<int64_t, bool>{0, true},
                           {1, true},
                           {255, true},
                           {256, true},
                           {257, true},
                           {300, false},
                           {1000, true},
                           {1024, false},
                           {1025, false},
                           {70000, true},
                           {70000, false}})
    cs.push_back({Op::reduce_sum,
                  "n=" + std::to_string(n) + (spread ? " spread" : ""),
                  {fin("in", n), fout("out", 1)},
                  spread ? fill_spread : none,
                  [n = n](Backend& be, const Ptrs& p) { be.reduce_sum(p.f(1), p.f(0), n); },
                  kTolSum});
  cs.push_back(large({Op::reduce_sum,
                      "n=3000000 spread",
                      {fin("in", 3000000), fout("out", 1)},
                      fill_spread,
                      [](Backend& be, const Ptrs& p) { be.reduce_sum(p.f(1), p.f(0), 3000000); },
                      kTolLong}));
  struct M {
    int64_t outer, mid, inner;
    bool spread;
  };
  // (64, 1, 1000) and (300, 2, 5): fewer than 4 channels over more than 4 chunks, the CPU's parallel
  // per-channel path; outer = 0: an empty axis.
  auto reduce_mid = [&](const M& s, double tol) {
    std::ostringstream os;
    os << "outer=" << s.outer << " mid=" << s.mid << " inner=" << s.inner << (s.spread ? " spread" : "");
    return Case{Op::reduce_mid,
                os.str(),
                {fin("in", s.outer * s.mid * s.inner), fout("out", s.mid)},
                s.spread ? fill_spread : none,
                [s](Backend& be, const Ptrs& p) { be.reduce_mid(p.f(1), p.f(0), s.outer, s.mid, s.inner); },
                tol};
  };
  for (const M& s : {M{1, 1, 1, false}, M{2, 3, 5, false}, M{64, 1, 1000, false}, M{300, 2, 5, false},
                     M{8, 32, 49, false}, M{1000, 4, 1, false}, M{3, 5, 7, true}, M{64, 4, 300, true},
                     M{2, 3, 1, true}, M{1, 2, 600, true}, M{0, 3, 4, true}})
    cs.push_back(reduce_mid(s, kTolSum));
  cs.push_back(large(reduce_mid(M{64, 32, 784, true}, kTolLong)));  // the conv bias gradient
  struct I {
    int64_t outer, inner;
    bool spread;
  };
  for (const I& s : {I{1, 1, false}, I{5, 300, false}, I{1000, 64, false}, I{2, 5000, false},
                     I{5, 1000, true}, I{7, 3, true}, I{3, 256, true}, I{2, 257, true}}) {
    std::ostringstream os;
    os << "outer=" << s.outer << " inner=" << s.inner << (s.spread ? " spread" : "");
    cs.push_back({Op::reduce_inner,
                  os.str(),
                  {fin("in", s.outer * s.inner), fout("out", s.outer)},
                  s.spread ? fill_spread : none,
                  [s](Backend& be, const Ptrs& p) { be.reduce_inner(p.f(1), p.f(0), s.outer, s.inner); },
                  kTolSum});
  }
  struct T {
    int64_t batch, rows, cols;
  };
  for (const T& s :
       {T{1, 1, 1}, T{3, 37, 29}, T{1, 100, 70}, T{64, 49, 32}, T{2, 33, 17}, T{1, 1, 5}, T{3, 64, 65}}) {
    std::ostringstream os;
    os << "batch=" << s.batch << " rows=" << s.rows << " cols=" << s.cols;
    const int64_t n = s.batch * s.rows * s.cols;
    cs.push_back({Op::transpose,
                  os.str(),
                  {fin("in", n), fout("out", n)},
                  nullptr,
                  [s](Backend& be, const Ptrs& p) { be.transpose(p.f(1), p.f(0), s.batch, s.rows, s.cols); },
                  kTolSame});
  }
}

// ---- pooling ----------------------------------------------------------------------------------------------

void add_pool_cases(std::vector<Case>& cs) {
  struct S {
    Pool2dShape s;
    // true: backward takes its argmax from a forward pass on the same backend (as in training), and inputs
    // are spread; false: the argmax comes from the reference on the host, inputs uniform.
    bool chained;
  };
  for (const S& v :
       {S{{2, 3, 8, 8, 2, 2, 0}, false}, S{{1, 2, 7, 7, 3, 2, 1}, false}, S{{1, 1, 5, 5, 3, 1, 1}, false},
        S{{1, 1, 1, 1, 1, 1, 0}, false}, S{{16, 32, 28, 28, 2, 2, 0}, false}, S{{2, 3, 9, 9, 2, 2, 0}, true},
        S{{2, 2, 10, 11, 3, 2, 1}, true}, S{{1, 3, 6, 6, 3, 1, 1}, true},
        // ceil_mode (BN-Inception): last windows hanging over the bottom/right edge, one over the padding
        S{{1, 2, 8, 8, 3, 2, 0, true}, false}, S{{2, 2, 7, 8, 3, 2, 0, true}, true},
        S{{1, 1, 6, 6, 3, 2, 1, true}, true}, S{{2, 1, 5, 5, 2, 2, 1, true}, false},
        S{{1, 2, 7, 7, 2, 2, 0, true}, true}}) {
    const Pool2dShape s = v.s;
    const int64_t nin = s.n * s.c * s.h * s.w, nout = s.n * s.c * s.oh() * s.ow();
    const int levels = v.chained ? 6 : 8;
    // Inputs on a coarse grid, so windows hold ties: the first maximum in window order must win everywhere.
    cs.push_back({Op::maxpool2d_forward,
                  pool_params(s) + " (ties)",
                  {fin("in", nin), fout("out", nout), iout("argmax", nout)},
                  [levels](Host& h, InputRng& rng) { h.coarse(0, levels, rng); },
                  [s](Backend& be, const Ptrs& p) { be.maxpool2d_forward(p.f(1), p.i(2), p.f(0), s); },
                  kTolSame});
    if (v.chained) {
      cs.push_back({Op::maxpool2d_backward,
                    pool_params(s) + " (argmax from this backend's forward)",
                    {fin("in", nin), fin("dout", nout), fout("forward out", nout), iout("argmax", nout),
                     fout("din", nin)},
                    [levels](Host& h, InputRng& rng) {
                      h.coarse(0, levels, rng);
                      h.spread(1, rng);
                    },
                    [s](Backend& be, const Ptrs& p) {
                      be.maxpool2d_forward(p.f(2), p.i(3), p.f(0), s);
                      be.maxpool2d_backward(p.f(4), p.f(1), p.i(3), s);
                    },
                    kTolSum});
    } else {
      cs.push_back({Op::maxpool2d_backward,
                    pool_params(s),
                    {fin("dout", nout), iin("argmax", nout), fout("din", nin)},
                    [s, levels](Host& h, InputRng& rng) {
                      std::vector<float> x(s.n * s.c * s.h * s.w);
                      for (auto& v : x) v = static_cast<float>(rng.below(levels)) / 4.0f - 1.0f;
                      for (int64_t o = 0; o < h.n(1); ++o) kern::maxpool2d_one(x.data(), s, o, h.i(1) + o);
                    },
                    [s](Backend& be, const Ptrs& p) { be.maxpool2d_backward(p.f(2), p.f(0), p.i(1), s); },
                    kTolSum});
    }
    auto fill = [spread = v.chained](Host& h, InputRng& rng) {
      if (spread) h.spread(0, rng);
    };
    cs.push_back({Op::avgpool2d_forward,
                  pool_params(s),
                  {fin("in", nin), fout("out", nout)},
                  fill,
                  [s](Backend& be, const Ptrs& p) { be.avgpool2d_forward(p.f(1), p.f(0), s); },
                  kTolSum});
    cs.push_back({Op::avgpool2d_backward,
                  pool_params(s),
                  {fin("dout", nout), fout("din", nin)},
                  fill,
                  [s](Backend& be, const Ptrs& p) { be.avgpool2d_backward(p.f(1), p.f(0), s); },
                  kTolSum});
  }
}

// ---- batch norm -------------------------------------------------------------------------------------------

void add_batchnorm_cases(std::vector<Case>& cs) {
  struct S {
    int64_t n, c, hw;
  };
  const float eps = 1e-5f;
  auto shape = [](const S& s) {
    std::ostringstream os;
    os << "x[" << s.n << "," << s.c << "," << s.hw << "]";
    return os.str();
  };
  // Statistics from the actual x, computed on the host by the reference (as a training step would).
  for (const S& s : {S{1, 1, 2}, S{6, 3, 1}, S{4, 3, 49}, S{64, 32, 196}, S{300, 2, 1}}) {
    const int64_t n = s.n * s.c * s.hw;
    cs.push_back(
        {Op::batchnorm_stats,
         shape(s),
         {fin("x", n), fout("mean", s.c), fout("var", s.c)},
         [](Host& h, InputRng& rng) { h.uniform(0, -1.0f, 3.0f, rng); },
         [s](Backend& be, const Ptrs& p) { be.batchnorm_stats(p.f(1), p.f(2), p.f(0), s.n, s.c, s.hw); },
         kTolSum});
    auto stats = [s](Host& h, InputRng& rng) {
      h.uniform(0, -1.0f, 3.0f, rng);
      for (int64_t ch = 0; ch < s.c; ++ch)
        kern::batchnorm_stats_one(h.f(1), h.f(2), h.f(0), s.n, s.c, s.hw, ch);
      h.uniform(3, 0.5f, 1.5f, rng);
    };
    cs.push_back(
        {Op::batchnorm_forward,
         shape(s),
         {fin("x", n), fin("mean", s.c), fin("var", s.c), fin("gamma", s.c), fin("beta", s.c), fout("y", n)},
         stats,
         [s, eps](Backend& be, const Ptrs& p) {
           be.batchnorm_forward(p.f(5), p.f(0), p.f(1), p.f(2), p.f(3), p.f(4), eps, s.n, s.c, s.hw);
         },
         kTolUlp});
    cs.push_back({Op::batchnorm_backward,
                  shape(s),
                  {fin("x", n), fin("mean", s.c), fin("var", s.c), fin("gamma", s.c), fin("dy", n),
                   fout("dx", n), fout("dgamma", s.c), fout("dbeta", s.c)},
                  stats,
                  [s, eps](Backend& be, const Ptrs& p) {
                    be.batchnorm_backward(p.f(5), p.f(6), p.f(7), p.f(4), p.f(0), p.f(1), p.f(2), p.f(3), eps,
                                          s.n, s.c, s.hw);
                  },
                  kTolSum});
    const int64_t count = s.n * s.hw;
    cs.push_back(
        {Op::batchnorm_update_running,
         shape(s) + " count=" + std::to_string(count),
         {finout("running_mean", s.c), finout("running_var", s.c), fin("mean", s.c), fin("var", s.c)},
         [](Host& h, InputRng& rng) {
           h.uniform(1, 0.1f, 2.0f, rng);
           h.uniform(3, 0.0f, 2.0f, rng);
         },
         [s, count](Backend& be, const Ptrs& p) {
           be.batchnorm_update_running(p.f(0), p.f(1), p.f(2), p.f(3), 0.1f, count, s.c);
         },
         kTolUlp});
  }
  // Statistics unrelated to x (variances down to 0); the statistics' x spread around a mean far from 0, so
  // the centred second pass matters.
  auto stats_case = [&](const S& s, double tol) {
    const int64_t n = s.n * s.c * s.hw;
    return Case{
        Op::batchnorm_stats,
        shape(s) + " spread + 3",
        {fin("x", n), fout("mean", s.c), fout("var", s.c)},
        [](Host& h, InputRng& rng) {
          h.spread(0, rng);
          for (int64_t j = 0; j < h.n(0); ++j) h.f(0)[j] += 3.0f;
        },
        [s](Backend& be, const Ptrs& p) { be.batchnorm_stats(p.f(1), p.f(2), p.f(0), s.n, s.c, s.hw); },
        tol};
  };
  auto backward_case = [&](const S& s, double tol) {
    const int64_t n = s.n * s.c * s.hw;
    return Case{Op::batchnorm_backward,
                shape(s) + " dy spread, statistics unrelated to x",
                {fin("x", n), fin("mean", s.c), fin("var", s.c), fin("gamma", s.c), fin("dy", n),
                 fout("dx", n), fout("dgamma", s.c), fout("dbeta", s.c)},
                [](Host& h, InputRng& rng) {
                  h.uniform(0, -2.0f, 2.0f, rng);
                  h.uniform(2, 0.0f, 2.0f, rng);
                  h.uniform(3, 0.5f, 1.5f, rng);
                  h.spread(4, rng);
                },
                [s, eps](Backend& be, const Ptrs& p) {
                  be.batchnorm_backward(p.f(5), p.f(6), p.f(7), p.f(4), p.f(0), p.f(1), p.f(2), p.f(3), eps,
                                        s.n, s.c, s.hw);
                },
                tol};
  };
  for (const S& s : {S{4, 3, 100}, S{64, 2, 49}, S{5, 7, 1}, S{2, 3, 300}}) {
    const int64_t n = s.n * s.c * s.hw;
    cs.push_back(stats_case(s, kTolSum));
    cs.push_back(
        {Op::batchnorm_forward,
         shape(s) + " statistics unrelated to x",
         {fin("x", n), fin("mean", s.c), fin("var", s.c), fin("gamma", s.c), fin("beta", s.c), fout("y", n)},
         [](Host& h, InputRng& rng) {
           h.uniform(0, -2.0f, 2.0f, rng);
           h.uniform(2, 0.0f, 2.0f, rng);
           h.uniform(3, 0.5f, 1.5f, rng);
           h.uniform(4, -0.5f, 0.5f, rng);
         },
         [s, eps](Backend& be, const Ptrs& p) {
           be.batchnorm_forward(p.f(5), p.f(0), p.f(1), p.f(2), p.f(3), p.f(4), eps, s.n, s.c, s.hw);
         },
         kTolUlp});
    cs.push_back(backward_case(s, kTolSum));
  }
  for (auto [c, count, momentum] : {std::tuple<int64_t, int64_t, float>{9, 400, 0.1f}, {3, 1, 0.3f}}) {
    std::ostringstream os;
    os << "c=" << c << " count=" << count << " momentum=" << momentum;
    cs.push_back({Op::batchnorm_update_running,
                  os.str(),
                  {finout("running_mean", c), finout("running_var", c), fin("mean", c), fin("var", c)},
                  [](Host& h, InputRng& rng) {
                    h.uniform(1, 0.0f, 2.0f, rng);
                    h.uniform(3, 0.0f, 2.0f, rng);
                  },
                  [c = c, count = count, momentum = momentum](Backend& be, const Ptrs& p) {
                    be.batchnorm_update_running(p.f(0), p.f(1), p.f(2), p.f(3), momentum, count, c);
                  },
                  kTolUlp});
  }
  cs.push_back(large(stats_case(S{64, 32, 784}, kTolLong)));
  cs.push_back(large(backward_case(S{64, 32, 784}, kTolLong)));
}

// ---- normalisation ----------------------------------------------------------------------------------------

void add_normalize_cases(std::vector<Case>& cs) {
  struct S {
    int64_t rows, dim;
  };
  const float eps = 1e-12f;
  for (const S& s : {S{1, 1}, S{7, 5}, S{64, 512}, S{3, 1000}, S{100, 3}}) {
    std::ostringstream os;
    os << "x[" << s.rows << "," << s.dim << "]" << (s.rows > 2 ? " (row 1 zero)" : "");
    const int64_t n = s.rows * s.dim;
    auto zero_row = [s](Host& h, InputRng&) {
      if (s.rows > 2)
        for (int64_t j = 0; j < s.dim; ++j) h.f(0)[s.dim + j] = 0.0f;  // row 1 clamps to eps
    };
    cs.push_back({Op::l2_normalize_forward,
                  os.str(),
                  {fin("x", n), fout("y", n), fout("norm", s.rows)},
                  zero_row,
                  [s, eps](Backend& be, const Ptrs& p) {
                    be.l2_normalize_forward(p.f(1), p.f(2), p.f(0), s.rows, s.dim, eps);
                  },
                  kTolSum});
    // y and norm from the reference forward of a random x (with the zero row), dy random.
    auto fwd = [s, eps](Host& h, InputRng& rng) {
      std::vector<float> x(s.rows * s.dim);
      for (auto& v : x) v = rng.uniform(-1.0f, 1.0f);
      if (s.rows > 2)
        for (int64_t j = 0; j < s.dim; ++j) x[s.dim + j] = 0.0f;
      for (int64_t r = 0; r < s.rows; ++r) kern::l2_normalize_row(h.f(1), h.f(2), x.data(), s.dim, eps, r);
    };
    cs.push_back({Op::l2_normalize_backward,
                  os.str(),
                  {fin("dy", n), fin("y", n), fin("norm", s.rows), fout("dx", n)},
                  fwd,
                  [s, eps](Backend& be, const Ptrs& p) {
                    be.l2_normalize_backward(p.f(3), p.f(0), p.f(1), p.f(2), s.rows, s.dim, eps);
                  },
                  kTolSum});
    if (s.rows == 7) {
      // Rows whose Σ x² overflows float (|x| up to 1e38): the scaled branch, on every backend alike. Not
      // larger: a row holds up to 3 of the big values, and its norm itself must stay below FLT_MAX (with 3e38
      // a draw after the case list grew gave a row of norm 4e38, an infinite norm from finite inputs).
      cs.push_back({Op::l2_normalize_forward,
                    os.str() + " (|x| ~ 1e19..1e38: Σx² overflows)",
                    {fin("x", n), fout("y", n), fout("norm", s.rows)},
                    [s](Host& h, InputRng& rng) {
                      for (int64_t i = 0; i < s.rows * s.dim; ++i)
                        h.f(0)[i] = rng.uniform(-1.0f, 1.0f) * (i % 2 ? 1e38f : 1e19f);
                    },
                    [s, eps](Backend& be, const Ptrs& p) {
                      be.l2_normalize_forward(p.f(1), p.f(2), p.f(0), s.rows, s.dim, eps);
                    },
                    kTolSum});
    }
    cs.push_back({Op::softmax_rows,
                  "in[" + std::to_string(s.rows) + "," + std::to_string(s.dim) + "]",
                  {fin("in", n), fout("out", n)},
                  [](Host& h, InputRng& rng) { h.uniform(0, -8.0f, 8.0f, rng); },
                  [s](Backend& be, const Ptrs& p) { be.softmax_rows(p.f(1), p.f(0), s.rows, s.dim); },
                  kTolSum});
  }
  cs.push_back(
      {Op::l2_normalize_forward,
       "x[6,37] (row 2 zero, row 4 tiny: 1e-20)",
       {fin("x", 6 * 37), fout("y", 6 * 37), fout("norm", 6)},
       [](Host& h, InputRng&) {
         for (int j = 0; j < 37; ++j) h.f(0)[2 * 37 + j] = 0.0f, h.f(0)[4 * 37 + j] = 1e-20f;
       },
       [eps](Backend& be, const Ptrs& p) { be.l2_normalize_forward(p.f(1), p.f(2), p.f(0), 6, 37, eps); },
       kTolSum});
  cs.push_back(
      {Op::l2_normalize_forward,
       "x[3,512] spread",
       {fin("x", 3 * 512), fout("y", 3 * 512), fout("norm", 3)},
       [](Host& h, InputRng& rng) { h.spread(0, rng); },
       [eps](Backend& be, const Ptrs& p) { be.l2_normalize_forward(p.f(1), p.f(2), p.f(0), 3, 512, eps); },
       kTolSum});
  cs.push_back({Op::l2_normalize_backward,
                "x[5,37] (norm of row 3 clamped to eps), y unrelated to norm",
                {fin("dy", 5 * 37), fin("y", 5 * 37), fin("norm", 5), fout("dx", 5 * 37)},
                [](Host& h, InputRng& rng) {
                  h.uniform(2, 0.5f, 3.0f, rng);
                  h.f(2)[3] = 1e-12f;
                },
                [eps](Backend& be, const Ptrs& p) {
                  be.l2_normalize_backward(p.f(3), p.f(0), p.f(1), p.f(2), 5, 37, eps);
                },
                kTolSum});
  cs.push_back({Op::softmax_rows,
                "in[4,300] (logits in [-80, 80))",
                {fin("in", 1200), fout("out", 1200)},
                [](Host& h, InputRng& rng) { h.uniform(0, -80.0f, 80.0f, rng); },
                [](Backend& be, const Ptrs& p) { be.softmax_rows(p.f(1), p.f(0), 4, 300); },
                kTolSum});
  cs.push_back({Op::softmax_rows,
                "in[3,1] (logits in [-5, 5))",
                {fin("in", 3), fout("out", 3)},
                [](Host& h, InputRng& rng) { h.uniform(0, -5.0f, 5.0f, rng); },
                [](Backend& be, const Ptrs& p) { be.softmax_rows(p.f(1), p.f(0), 3, 1); },
                kTolSum});
}

// ---- optimizers -------------------------------------------------------------------------------------------

Case sgd_case(const std::string& name, int64_t n, const SgdParams& sp, bool spread_grad) {
  std::ostringstream os;
  os << name << " n=" << n << " lr=" << sp.lr << " momentum=" << sp.momentum << " dampening=" << sp.dampening
     << " wd=" << sp.weight_decay << " nesterov=" << sp.nesterov << " first=" << sp.first_step
     << (spread_grad ? " grad spread" : "");
  const size_t grad = sp.momentum == 0.0f ? 1 : 2;
  auto init = [spread_grad, grad](Host& h, InputRng& rng) {
    if (spread_grad) {
      if (grad == 2) h.uniform(1, -0.1f, 0.1f, rng);
      h.spread(grad, rng);
    }
  };
  if (sp.momentum == 0.0f)  // the buffer is not touched and may be null
    return {Op::sgd_update,
            os.str(),
            {finout("param", n), fin("grad", n)},
            init,
            [sp, n](Backend& be, const Ptrs& p) { be.sgd_update(p.f(0), nullptr, p.f(1), n, sp); },
            kTolUlp};
  return {Op::sgd_update,
          os.str(),
          {finout("param", n), finout("momentum", n), fin("grad", n)},
          init,
          [sp, n](Backend& be, const Ptrs& p) { be.sgd_update(p.f(0), p.f(1), p.f(2), n, sp); },
          kTolUlp};
}

Case adam_case(int64_t n, double lr, double wd, int t, bool spread_grad) {
  const AdamParams ap = kern::adam_params(lr, 0.9, 0.999, 1e-8, wd, t);
  std::ostringstream os;
  os << "n=" << n << " lr=" << lr << " wd=" << wd << " step " << t
     << (spread_grad ? " grad spread, v[5] = 0" : "");
  return {Op::adam_update,
          os.str(),
          {finout("param", n), finout("m", n), finout("v", n), fin("grad", n)},
          [spread_grad](Host& h, InputRng& rng) {
            h.uniform(1, -0.01f, 0.01f, rng);
            h.uniform(2, 0.0f, spread_grad ? 1e-3f : 1e-4f, rng);  // second moments are non-negative
            if (spread_grad) h.spread(3, rng), h.f(2)[std::min<int64_t>(5, h.n(2) - 1)] = 0.0f;
          },
          [ap, n](Backend& be, const Ptrs& p) { be.adam_update(p.f(0), p.f(1), p.f(2), p.f(3), n, ap); },
          kTolUlp};
}

void add_optim_cases(std::vector<Case>& cs) {
  for (int64_t n : {1, 1000, 40000}) {
    cs.push_back(sgd_case("plain", n, {0.1f, 0.0f, 0.0f, 0.0f, false, false}, false));
    cs.push_back(sgd_case("momentum first step", n, {0.1f, 0.9f, 0.0f, 5e-4f, false, true}, false));
    cs.push_back(sgd_case("momentum dampening", n, {0.05f, 0.9f, 0.1f, 5e-4f, false, false}, false));
    cs.push_back(sgd_case("nesterov", n, {0.05f, 0.9f, 0.0f, 1e-4f, true, false}, false));
    for (int t : {1, 10}) cs.push_back(adam_case(n, 3e-4, 5e-4, t, false));
  }
  cs.push_back(sgd_case("plain", 1000, {0.1f, 0.0f, 0.0f, 0.0f, false, false}, true));
  cs.push_back(sgd_case("nesterov dampening", 1000, {0.05f, 0.9f, 0.1f, 1e-4f, true, false}, true));
  cs.push_back(sgd_case("momentum first step", 1000, {0.05f, 0.9f, 0.0f, 5e-4f, false, true}, true));
  cs.push_back(adam_case(1000, 1e-3, 5e-4, 3, true));
}

// ---- metric learning --------------------------------------------------------------------------------------

// Arguments sim, row_labels, col_labels, row_mask, col_mask, then the output; masks passed only when `masks`.
Case contrastive_case(Op op, int64_t rows, int64_t cols, bool masks, bool grid, float scale,
                      std::function<void(Host&, InputRng&)> init) {
  const float margin = 0.5f, pos_eps = 1e-5f;
  std::ostringstream os;
  os << "sim[" << rows << "," << cols << "]" << (masks ? " masked" : "")
     << (grid ? " (similarities on the kinks s = margin, 1 − pos_eps, 1)" : "");
  std::vector<Arg> args = {fin("sim", rows * cols), iin("row_labels", rows), iin("col_labels", cols),
                           iin("row_mask", rows), iin("col_mask", cols)};
  if (op == Op::contrastive_forward) {
    args.push_back(fout("row_loss", rows));
    return {op,
            os.str(),
            args,
            init,
            [=](Backend& be, const Ptrs& p) {
              be.contrastive_forward(p.f(5), p.f(0), p.i(1), p.i(2), masks ? p.i(3) : nullptr,
                                     masks ? p.i(4) : nullptr, rows, cols, margin, pos_eps);
            },
            kTolSum};
  }
  args.push_back(fout("dsim", rows * cols));
  return {op,
          os.str(),
          args,
          init,
          [=](Backend& be, const Ptrs& p) {
            be.contrastive_backward(p.f(5), p.f(0), p.i(1), p.i(2), masks ? p.i(3) : nullptr,
                                    masks ? p.i(4) : nullptr, rows, cols, margin, pos_eps, scale);
          },
          kTolSame};
}

void add_contrastive_cases(std::vector<Case>& cs) {
  struct S {
    int64_t rows, cols;
  };
  for (const S& s : {S{1, 1}, S{7, 13}, S{64, 64}, S{64, 1000}})
    for (bool masks : {false, true}) {
      auto init = [s](Host& h, InputRng& rng) {
        h.integers(1, 4, rng);
        h.integers(2, 4, rng);
        for (int64_t j = 0; j < h.n(3); ++j) h.i(3)[j] = rng.bernoulli(0.75f);
        for (int64_t j = 0; j < h.n(4); ++j) h.i(4)[j] = rng.bernoulli(0.75f);
        if (s.rows == s.cols)  // a batch against itself: the diagonal is each sample with itself
          for (int64_t i = 0; i < s.rows; ++i) h.f(0)[i * s.cols + i] = 1.0f;
      };
      for (Op op : {Op::contrastive_forward, Op::contrastive_backward})
        cs.push_back(
            contrastive_case(op, s.rows, s.cols, masks, false, 1.0f / static_cast<float>(s.rows), init));
    }
  // Similarities on a grid that hits the kinks (s = margin, s = 1 − pos_eps) and s = 1 exactly.
  auto grid = [](Host& h, InputRng& rng) {
    for (int64_t i = 0; i < h.n(0); i += 5)
      h.f(0)[i] = (i / 5) % 3 == 0 ? 0.5f : (i / 5) % 3 == 1 ? 1.0f - 1e-5f : 1.0f;
    h.integers(1, 4, rng);
    h.integers(2, 4, rng);
    h.integers(3, 2, rng);
    h.integers(4, 2, rng);
  };
  for (bool masks : {false, true})
    for (Op op : {Op::contrastive_forward, Op::contrastive_backward})
      cs.push_back(contrastive_case(op, 6, 300, masks, true, 0.25f, grid));
}

// Multi-similarity: arguments sim, row_labels, col_labels, row_mask, col_mask, row_loss, row_stats, then dsim
// for the backward case (which runs the same backend's forward for the saved statistics first).
Case multi_similarity_case(Op op, int64_t rows, int64_t cols, bool masks, bool batch, const std::string& what,
                           std::function<void(Host&, InputRng&)> init, bool specials = false) {
  MultiSimilarityParams p;
  p.skip_diagonal = batch ? 1 : 0;
  const float scale = 1.0f / static_cast<float>(rows);
  std::ostringstream os;
  os << "sim[" << rows << "," << cols << "]" << (masks ? " masked" : "")
     << (batch ? " batch (diagonal skipped)" : "") << what;
  std::vector<Arg> args = {fin("sim", rows * cols),
                           iin("row_labels", rows),
                           iin("col_labels", cols),
                           iin("row_mask", rows),
                           iin("col_mask", cols),
                           fout("row_loss", rows),
                           fout("row_stats", rows * kern::kMsStats)};
  const bool backward = op == Op::multi_similarity_backward;
  if (backward) args.push_back(fout("dsim", rows * cols));
  Case c{op,
         os.str(),
         args,
         std::move(init),
         [=](Backend& be, const Ptrs& q) {
           const int32_t* rm = masks ? q.i(3) : nullptr;
           const int32_t* cm = masks ? q.i(4) : nullptr;
           be.multi_similarity_forward(q.f(5), q.f(6), q.f(0), q.i(1), q.i(2), rm, cm, rows, cols, p);
           if (backward)
             be.multi_similarity_backward(q.f(7), q.f(0), q.f(6), q.i(1), q.i(2), rm, cm, rows, cols, p,
                                          scale);
         },
         backward ? kTolSame : kTolSum};
  c.specials = specials;
  return c;
}

// SoftTriple: arguments sim, labels, row_mask, row_loss, row_lse, then dsim for the backward case.
Case softtriple_case(Op op, int64_t rows, int64_t classes, int64_t K, bool masks) {
  const SoftTripleParams p;
  const float scale = 1.0f / static_cast<float>(rows);
  std::ostringstream os;
  os << "sim[" << rows << "," << classes << "x" << K << "]" << (masks ? " masked" : "");
  std::vector<Arg> args = {fin("sim", rows * classes * K), iin("labels", rows), iin("row_mask", rows),
                           fout("row_loss", rows), fout("row_lse", rows)};
  const bool backward = op == Op::softtriple_backward;
  if (backward) args.push_back(fout("dsim", rows * classes * K));
  return {op,
          os.str(),
          args,
          [classes](Host& h, InputRng& rng) {
            h.integers(1, static_cast<uint32_t>(classes), rng);
            for (int64_t j = 0; j < h.n(2); ++j) h.i(2)[j] = rng.bernoulli(0.75f);
          },
          [=](Backend& be, const Ptrs& q) {
            const int32_t* rm = masks ? q.i(2) : nullptr;
            be.softtriple_forward(q.f(3), q.f(4), q.f(0), q.i(1), rm, rows, classes, K, p);
            if (backward)
              be.softtriple_backward(q.f(5), q.f(0), q.f(4), q.i(1), rm, rows, classes, K, p, scale);
          },
          backward ? kTolSame : kTolSum};
}

// SoftTriple's centre regulariser: arguments centers, reg, dfac, then dcenters for the backward case.
Case softtriple_reg_case(Op op, int64_t classes, int64_t K, int64_t dim) {
  std::ostringstream os;
  os << "centers[" << classes << "x" << K << "," << dim << "]";
  std::vector<Arg> args = {fin("centers", classes * K * dim), fout("reg", classes * K),
                           fout("dfac", classes * K * K)};
  const bool backward = op == Op::softtriple_reg_backward;
  if (backward) args.push_back(fout("dcenters", classes * K * dim));
  return {op,
          os.str(),
          args,
          [dim](Host& h, InputRng& rng) {
            // Unit rows, as the loss passes them (dim 1: the two centers coincide, s = ±1).
            h.uniform(0, -1.0f, 1.0f, rng);
            for (int64_t g = 0; g * dim < h.n(0); ++g) {
              double ss = 0;
              for (int64_t k = 0; k < dim; ++k) ss += double(h.f(0)[g * dim + k]) * h.f(0)[g * dim + k];
              for (int64_t k = 0; k < dim; ++k)
                h.f(0)[g * dim + k] = static_cast<float>(h.f(0)[g * dim + k] / std::sqrt(ss));
            }
          },
          [=](Backend& be, const Ptrs& q) {
            be.softtriple_reg_forward(q.f(1), q.f(2), q.f(0), classes, K, dim);
            if (backward) be.softtriple_reg_backward(q.f(3), q.f(2), q.f(0), classes, K, dim, 0.5f);
          },
          backward ? kTolSame : kTolSum};
}

void add_loss_cases(std::vector<Case>& cs) {
  struct S {
    int64_t rows, cols;
    bool batch;
  };
  for (const S& s : {S{1, 1, false}, S{1, 1, true}, S{7, 13, false}, S{64, 64, true}, S{64, 1000, false}})
    for (bool masks : {false, true}) {
      auto init = [s](Host& h, InputRng& rng) {
        h.integers(1, 4, rng);
        h.integers(2, 4, rng);
        for (int64_t j = 0; j < h.n(3); ++j) h.i(3)[j] = rng.bernoulli(0.75f);
        for (int64_t j = 0; j < h.n(4); ++j) h.i(4)[j] = rng.bernoulli(0.75f);
        if (s.batch) {
          for (int64_t j = 0; j < h.n(2); ++j) h.i(2)[j] = h.i(1)[j];  // the columns are the rows
          for (int64_t j = 0; j < h.n(4); ++j) h.i(4)[j] = h.i(3)[j];
          for (int64_t i = 0; i < s.rows; ++i) h.f(0)[i * s.cols + i] = 1.0f;
        }
      };
      for (Op op : {Op::multi_similarity_forward, Op::multi_similarity_backward})
        cs.push_back(multi_similarity_case(op, s.rows, s.cols, masks, s.batch, "", init));
    }
  // Similarities on a 0.25 grid: extremes tie, and s ± ε lands next to other grid values.
  auto coarse = [](Host& h, InputRng& rng) {
    h.coarse(0, 9, rng);
    h.integers(1, 3, rng);
    h.integers(2, 3, rng);
    h.integers(3, 2, rng);
    h.integers(4, 2, rng);
  };
  // ±inf and NaN similarities: NaN pairs are never mined; infinite ones may make a row non-finite.
  auto specials = [](Host& h, InputRng& rng) {
    h.put(0, special_values());
    h.integers(1, 3, rng);
    h.integers(2, 3, rng);
  };
  for (Op op : {Op::multi_similarity_forward, Op::multi_similarity_backward}) {
    cs.push_back(multi_similarity_case(op, 6, 300, true, false, " (on a 0.25 grid)", coarse));
    cs.push_back(multi_similarity_case(op, 5, 40, false, false, " (special values)", specials, true));
  }
  struct T {
    int64_t rows, classes, K;
  };
  for (const T& t : {T{1, 1, 1}, T{7, 5, 3}, T{64, 10, 10}, T{16, 100, 10}})
    for (bool masks : {false, true})
      for (Op op : {Op::softtriple_forward, Op::softtriple_backward})
        cs.push_back(softtriple_case(op, t.rows, t.classes, t.K, masks));
  struct G {
    int64_t classes, K, dim;
  };
  for (const G& g : {G{1, 2, 1}, G{5, 10, 16}, G{100, 10, 128}, G{3, 4, 300}})
    for (Op op : {Op::softtriple_reg_forward, Op::softtriple_reg_backward})
      cs.push_back(softtriple_reg_case(op, g.classes, g.K, g.dim));
}

void add_memory_bank_cases(std::vector<Case>& cs) {
  // Class means of memory rows: `order` lists the rows of each group, `offsets` delimits the groups (one
  // empty, one larger than a reduction chunk).
  struct G {
    int64_t rows, groups, dim;
  };
  auto shuffled_order = [](Host& h, InputRng& rng, int64_t rows) {
    int32_t* order = h.i(1);
    for (int64_t r = 0; r < rows; ++r) order[r] = static_cast<int32_t>(r);
    for (int64_t r = rows - 1; r > 0; --r)
      std::swap(order[r], order[rng.below(static_cast<uint32_t>(r + 1))]);
  };
  auto segment_case = [](const G& g, const std::string& params, std::function<void(Host&, InputRng&)> init) {
    return Case{Op::segment_mean_rows,
                params,
                {fin("in", g.rows * g.dim), iin("order", g.rows), iin("offsets", g.groups + 1),
                 fout("out", g.groups * g.dim)},
                std::move(init),
                [g](Backend& be, const Ptrs& p) {
                  be.segment_mean_rows(p.f(3), p.f(0), p.i(1), p.i(2), g.groups, g.dim);
                },
                kTolSum};
  };
  for (const G& g : {G{1, 1, 1}, G{10, 4, 3}, G{700, 5, 64}, G{2000, 30, 16}}) {
    std::ostringstream os;
    os << "in[" << g.rows << "," << g.dim << "] groups=" << g.groups;
    cs.push_back(segment_case(g, os.str(), [g, shuffled_order](Host& h, InputRng& rng) {
      shuffled_order(h, rng, g.rows);
      // Group 0 takes ~60% (beyond a chunk when rows is large), group 1 is empty (if groups > 2), the rest
      // split the remainder.
      int32_t* off = h.i(2);
      off[0] = 0;
      const int64_t first = g.groups == 1 ? g.rows : g.rows * 3 / 5;
      off[1] = static_cast<int32_t>(first);
      for (int64_t k = 2; k <= g.groups; ++k) {
        const int64_t rest = g.rows - off[k - 1], left = g.groups - (k - 1);
        off[k] = static_cast<int32_t>(off[k - 1] + (k == 2 && g.groups > 2 ? 0 : rest / left));
      }
      off[g.groups] = static_cast<int32_t>(g.rows);
    }));
  }
  cs.push_back(segment_case(G{700, 4, 5}, "in[700,5] spread, groups=4 offsets 0 300 300 650 700",
                            [shuffled_order](Host& h, InputRng& rng) {
                              h.spread(0, rng);
                              shuffled_order(h, rng, 700);
                              const int32_t off[] = {0, 300, 300, 650, 700};
                              std::copy(off, off + 5, h.i(2));
                            }));
  struct C {
    int64_t dst_rows, src_rows, count, dim;
  };
  for (const C& c : {C{1, 1, 1, 1}, C{20, 8, 8, 5}, C{9500, 64, 64, 128}, C{100, 300, 40, 3}}) {
    std::ostringstream os;
    os << "dst[" << c.dst_rows << "," << c.dim << "] src[" << c.src_rows << "," << c.dim
       << "] count=" << c.count;
    cs.push_back(
        {Op::copy_rows,
         os.str(),
         {finout("dst", c.dst_rows * c.dim), iin("dst_rows", c.count), fin("src", c.src_rows * c.dim),
          iin("src_rows", c.count)},
         [c](Host& h, InputRng& rng) {
           // Distinct destination rows (a ring write), any source rows.
           std::vector<int32_t> rows(c.dst_rows);
           for (int64_t r = 0; r < c.dst_rows; ++r) rows[r] = static_cast<int32_t>(r);
           for (int64_t r = 0; r < c.count; ++r)
             std::swap(rows[r], rows[r + rng.below(static_cast<uint32_t>(c.dst_rows - r))]);
           std::copy_n(rows.begin(), c.count, h.i(1));
           h.integers(3, static_cast<uint32_t>(c.src_rows), rng);
         },
         [c](Backend& be, const Ptrs& p) { be.copy_rows(p.f(0), p.i(1), p.f(2), p.i(3), c.count, c.dim); },
         kTolSame});
  }
  cs.push_back({Op::copy_rows,
                "dst[10,7] src[6,7] count=4 dst_rows 9 0 4 5, src_rows 5 0 2 2 (a repeated source)",
                {finout("dst", 70), iin("dst_rows", 4), fin("src", 42), iin("src_rows", 4)},
                [](Host& h, InputRng&) {
                  const int32_t dst[] = {9, 0, 4, 5}, src[] = {5, 0, 2, 2};
                  std::copy(dst, dst + 4, h.i(1));
                  std::copy(src, src + 4, h.i(3));
                },
                [](Backend& be, const Ptrs& p) { be.copy_rows(p.f(0), p.i(1), p.f(2), p.i(3), 4, 7); },
                kTolSame});
}

std::vector<Case> build_cases() {
  std::vector<Case> cs;
  add_memory_cases(cs);
  add_gemm_cases(cs);
  add_conv_cases(cs);
  add_unary_cases(cs);
  add_binary_cases(cs);
  add_reduce_cases(cs);
  add_pool_cases(cs);
  add_batchnorm_cases(cs);
  add_normalize_cases(cs);
  add_optim_cases(cs);
  add_contrastive_cases(cs);
  add_loss_cases(cs);
  add_memory_bank_cases(cs);
  add_deep_conv_cases(cs);
  add_wide_row_conv_cases(cs);
  add_gather_col2im_conv_cases(cs);
  add_bias_conv_cases(cs);
  return cs;
}

}  // namespace

const std::vector<Case>& kernel_cases() {
  static const std::vector<Case> cases = build_cases();
  return cases;
}

}  // namespace prism::testing

// ---- the input generator ----------------------------------------------------------------------------------

TEST_CASE("kernel cases: InputRng draws the numbers of prism::Rng", "[parity]") {
  prism::Rng rng(1234, prism::RngStream::test);
  prism::testing::InputRng fast(1234, prism::RngStream::test);
  for (int i = 0; i < 1001; ++i) {
    INFO("draw " << i);
    REQUIRE(fast.next_u32() == rng.next_u32());
  }
}
