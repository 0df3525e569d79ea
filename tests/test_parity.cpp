// The table-driven parity test of every backend kernel (ggml test-backend-ops style), reference test harness.
//
// A Case describes one kernel call once: the Op, a readable parameter string, its arguments (name, dtype,
// element count, role: in / out / inout), how to fill the inputs from Philox (`init`, on the host), the call
// itself (`run`, against any Backend&, with typed device pointers), and the fast-mode budget `fast_tol`
// (normalised MSE against exact, written beside the case; the DESIGN §3 bound is 1e-8).
//
// `execute` runs a case on a backend:
//   - every argument is allocated with kSlack extra elements; the slack is poisoned with a NaN pattern;
//     `out` arguments are poisoned entirely; `in` / `inout` arguments are uploaded from the host copy;
//   - after the call it downloads everything and checks that the slack is untouched (no out-of-bounds
//     writes), `in` arguments are unchanged, f32 outputs are finite (every output written, no silent NaN/Inf:
//     all cases use finite inputs) and i32 outputs hold no poison.
//
// For every case the tests compare: (a) CPU exact vs the reference loops of tests/reference_backend.hpp (the
// kern:: bodies, one output at a time) by memcmp; (b) CPU exact with 1 thread vs 2 threads by memcmp; (c) CPU
// fast vs CPU exact by nMSE <= fast_tol (i32 outputs equal); (d) [cuda] when device_available(cuda): CUDA
// exact vs CPU exact by memcmp and CUDA fast vs CPU exact by nMSE. A coverage test fails when an Op of the
// enum has no case. Failures name the case (op + parameters), backend, mode, threads and the first differing
// element.
//
// To add a case: push a Case in one of the add_*_cases() functions below (helpers: fin / fout / finout / iin
// / iout for arguments, Host for filling inputs).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "prism/backend.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/kernels/batchnorm.hpp"
#include "prism/kernels/normalize.hpp"
#include "prism/kernels/optim.hpp"
#include "prism/kernels/pool.hpp"
#include "reference_backend.hpp"

using prism::Backend;
using prism::BinaryOp;
using prism::Conv2dShape;
using prism::DeviceType;
using prism::Mode;
using prism::Op;
using prism::Pool2dShape;
using prism::UnaryOp;

namespace {

// ==== the harness
// ================================================================================================

enum class Role { in, out, inout };
enum class Kind { f32, i32 };

struct ArgSpec {
  std::string name;
  Kind kind;
  int64_t n;  // elements
  Role role;
};
ArgSpec fin(std::string name, int64_t n) {
  return {std::move(name), Kind::f32, n, Role::in};
}
ArgSpec fout(std::string name, int64_t n) {
  return {std::move(name), Kind::f32, n, Role::out};
}
ArgSpec finout(std::string name, int64_t n) {
  return {std::move(name), Kind::f32, n, Role::inout};
}
ArgSpec iin(std::string name, int64_t n) {
  return {std::move(name), Kind::i32, n, Role::in};
}
ArgSpec iout(std::string name, int64_t n) {
  return {std::move(name), Kind::i32, n, Role::out};
}

// Argument contents as raw 32-bit words (f32 or i32), indexed like Case::args.
struct Host {
  std::vector<std::vector<uint32_t>> words;
  float* f(size_t k) { return reinterpret_cast<float*>(words[k].data()); }
  int32_t* i(size_t k) { return reinterpret_cast<int32_t*>(words[k].data()); }
  int64_t n(size_t k) const { return static_cast<int64_t>(words[k].size()); }
  void uniform(size_t k, float lo, float hi, prism::Rng& rng) {
    for (int64_t j = 0; j < n(k); ++j) f(k)[j] = rng.uniform(lo, hi);
  }
  // |value| in [lo, hi) with a random sign (divisors, values kept off a kink).
  void signed_magnitude(size_t k, float lo, float hi, prism::Rng& rng) {
    for (int64_t j = 0; j < n(k); ++j) f(k)[j] = (rng.bernoulli(0.5f) ? -1.0f : 1.0f) * rng.uniform(lo, hi);
  }
  void integers(size_t k, uint32_t below, prism::Rng& rng) {
    for (int64_t j = 0; j < n(k); ++j) i(k)[j] = static_cast<int32_t>(rng.below(below));
  }
};

// Typed device pointers of one execution.
struct Ptrs {
  std::vector<void*> p;
  float* f(size_t k) const { return static_cast<float*>(p[k]); }
  int32_t* i(size_t k) const { return static_cast<int32_t*>(p[k]); }
};

// Normalised-MSE budgets of fast vs exact, by what the fast path may legitimately change (all ≤ 1e-8):
constexpr double kTolSame = 0;  // data movement, comparisons, single IEEE operations: no reason to differ
constexpr double kTolUlp =
    1e-12;  // a few ulps per element (libm vs portable exp/log, fused vs unfused): ≤ (4·2^-24)²
constexpr double kTolSum =
    1e-10;  // reordered sums of up to ~10^5 terms: ≈ K·2^-48 ≤ 4e-10 worst, ~1e-13 typical

struct Case {
  Op op;
  std::string params;
  std::vector<ArgSpec> args;
  std::function<void(Host&, prism::Rng&)>
      init;  // after the default fill (f32 inputs uniform in [−1, 1), i32 zero)
  std::function<void(Backend&, const Ptrs&)> run;
  double fast_tol;

  std::string describe() const { return std::string(prism::op_name(op)) + " " + params; }
};

constexpr int64_t kSlack = 16;
constexpr uint32_t kPoison = 0x7fc0deadu;  // a quiet NaN with a payload no kernel produces

Host make_inputs(const Case& c, uint64_t seed) {
  prism::Rng rng(seed, prism::RngStream::test);
  Host h;
  for (const ArgSpec& a : c.args) {
    std::vector<uint32_t> w(a.n, 0);
    if (a.kind == Kind::f32 && a.role != Role::out)
      for (auto& x : w) x = prism::kern::float_bits(rng.uniform(-1.0f, 1.0f));
    h.words.push_back(std::move(w));
  }
  if (c.init) c.init(h, rng);
  return h;
}

std::string where(const Backend& be) {
  std::ostringstream os;
  os << (dynamic_cast<const prism::test::ReferenceBackend*>(&be) ? "reference loops"
                                                                 : prism::device_name(be.device()))
     << ", mode " << prism::mode_name(prism::mode()) << ", " << prism::num_threads() << " thread(s)";
  return os.str();
}

std::string element(const ArgSpec& a, int64_t j, uint32_t got, uint32_t want) {
  std::ostringstream os;
  os << a.name << "[" << j << "] = ";
  if (a.kind == Kind::f32)
    os << prism::kern::bits_float(got) << " (0x" << std::hex << got << std::dec << "), expected "
       << prism::kern::bits_float(want) << " (0x" << std::hex << want << ")";
  else
    os << int32_t(got) << ", expected " << int32_t(want);
  return os.str();
}

// Runs the case on `be` in the current mode / thread count; returns every argument's contents afterwards.
std::vector<std::vector<uint32_t>> execute(const Case& c, const Host& host, Backend& be) {
  INFO("running " << c.describe() << " on " << where(be));
  struct Buffers {
    Backend& be;
    std::vector<void*> p;
    std::vector<size_t> bytes;
    ~Buffers() {
      for (size_t k = 0; k < p.size(); ++k)
        if (p[k]) be.dealloc(p[k], bytes[k]);
    }
  } bufs{be, {}, {}};
  for (size_t k = 0; k < c.args.size(); ++k) {
    const ArgSpec& a = c.args[k];
    const size_t bytes = (a.n + kSlack) * sizeof(uint32_t);
    bufs.bytes.push_back(bytes);
    bufs.p.push_back(be.alloc(bytes));
    std::vector<uint32_t> init(a.n + kSlack, kPoison);
    if (a.role != Role::out) std::copy(host.words[k].begin(), host.words[k].end(), init.begin());
    be.upload(bufs.p[k], init.data(), bytes);
  }
  c.run(be, Ptrs{bufs.p});
  be.synchronize();
  std::vector<std::vector<uint32_t>> after;
  for (size_t k = 0; k < c.args.size(); ++k) {
    const ArgSpec& a = c.args[k];
    std::vector<uint32_t> all(a.n + kSlack);
    be.download(all.data(), bufs.p[k], bufs.bytes[k]);
    for (int64_t j = a.n; j < a.n + kSlack; ++j)
      if (all[j] != kPoison)
        FAIL("guard slack overwritten: " << a.name << "[" << j << "] (" << a.n << " elements)");
    all.resize(a.n);
    if (a.role == Role::in) {
      for (int64_t j = 0; j < a.n; ++j)
        if (all[j] != host.words[k][j]) FAIL("input modified: " << element(a, j, all[j], host.words[k][j]));
    } else {
      for (int64_t j = 0; j < a.n; ++j) {
        if (a.kind == Kind::f32 && !std::isfinite(prism::kern::bits_float(all[j])))
          FAIL("non-finite output from finite inputs: " << a.name << "[" << j
                                                        << "] = " << prism::kern::bits_float(all[j]) << " (0x"
                                                        << std::hex << all[j] << ")");
        if (a.kind == Kind::i32 && all[j] == kPoison)
          FAIL("output never written: " << a.name << "[" << j << "]");
      }
    }
    after.push_back(std::move(all));
  }
  return after;
}

// Outputs (out and inout) must match bit for bit.
void require_identical(const Case& c, const std::vector<std::vector<uint32_t>>& got,
                       const std::vector<std::vector<uint32_t>>& want, const std::string& what) {
  for (size_t k = 0; k < c.args.size(); ++k) {
    if (c.args[k].role == Role::in) continue;
    for (size_t j = 0; j < got[k].size(); ++j)
      if (got[k][j] != want[k][j])
        FAIL(c.describe() << ": " << what << ": first differing element "
                          << element(c.args[k], int64_t(j), got[k][j], want[k][j]));
  }
  SUCCEED();
}

double nmse(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  double num = 0, den = 0;
  for (size_t j = 0; j < a.size(); ++j) {
    const double x = prism::kern::bits_float(a[j]), y = prism::kern::bits_float(b[j]);
    num += (x - y) * (x - y);
    den += y * y;
  }
  return den > 0 ? num / den : num;
}

// f32 outputs within the case's nMSE budget, i32 outputs equal.
void require_close(const Case& c, const std::vector<std::vector<uint32_t>>& got,
                   const std::vector<std::vector<uint32_t>>& want, const std::string& what) {
  for (size_t k = 0; k < c.args.size(); ++k) {
    const ArgSpec& a = c.args[k];
    if (a.role == Role::in) continue;
    if (a.kind == Kind::i32) {
      for (size_t j = 0; j < got[k].size(); ++j)
        if (got[k][j] != want[k][j])
          FAIL(c.describe() << ": " << what << ": first differing element "
                            << element(a, int64_t(j), got[k][j], want[k][j]));
      continue;
    }
    const double e = nmse(got[k], want[k]);
    if (e > c.fast_tol) {
      size_t j = 0;
      while (j < got[k].size() && got[k][j] == want[k][j]) ++j;
      FAIL(c.describe() << ": " << what << ": " << a.name << " nMSE " << e << " > tolerance " << c.fast_tol
                        << "; first differing element " << element(a, int64_t(j), got[k][j], want[k][j]));
    }
  }
  SUCCEED();
}

// ==== the cases
// ==================================================================================================

std::string conv_params(const Conv2dShape& s) {
  std::ostringstream os;
  os << "x[" << s.n << "," << s.c << "," << s.h << "," << s.w << "] k " << s.kh << "x" << s.kw << " stride "
     << s.stride << " pad " << s.pad;
  return os.str();
}
std::string pool_params(const Pool2dShape& s) {
  std::ostringstream os;
  os << "x[" << s.n << "," << s.c << "," << s.h << "," << s.w << "] k " << s.k << " stride " << s.stride
     << " pad " << s.pad;
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

void add_memory_cases(std::vector<Case>& cs) {
  for (int64_t n : {1, 1000, 70000}) {
    cs.push_back({Op::fill,
                  "f32 n=" + std::to_string(n),
                  {fout("x", n)},
                  nullptr,
                  [n](Backend& be, const Ptrs& p) { be.fill_f32(p.f(0), -0.375f, n); },
                  kTolSame});
    cs.push_back({Op::fill,
                  "i32 n=" + std::to_string(n),
                  {iout("x", n)},
                  nullptr,
                  [n](Backend& be, const Ptrs& p) { be.fill_i32(p.i(0), -7, n); },
                  kTolSame});
    cs.push_back({Op::copy,
                  "n=" + std::to_string(n),
                  {fin("src", n), fout("dst", n)},
                  nullptr,
                  [n](Backend& be, const Ptrs& p) { be.copy(p.f(1), p.f(0), n * sizeof(float)); },
                  kTolSame});
  }
}

void add_gemm_cases(std::vector<Case>& cs) {
  struct S {
    int64_t M, N, K;
    bool all_transposes;
  };
  const S shapes[] = {{1, 1, 1, true},  {7, 13, 5, true},     {37, 29, 300, true},   {64, 48, 513, false},
                      {3, 5, 0, false}, {1, 4100, 33, false}, {200, 9, 1000, false}, {9, 200, 256, false}};
  for (const S& s : shapes)
    for (int t = 0; t < (s.all_transposes ? 4 : 1); ++t)
      for (auto order : {prism::GemmOrder::chain, prism::GemmOrder::chunked})
        for (float alpha : {1.0f, -0.5f}) {
          const bool ta = t & 1, tb = t & 2;
          std::ostringstream os;
          os << "M=" << s.M << " N=" << s.N << " K=" << s.K << " trans_a=" << ta << " trans_b=" << tb
             << " alpha=" << alpha << " order=" << (order == prism::GemmOrder::chain ? "chain" : "chunked");
          const int64_t M = s.M, N = s.N, K = s.K;
          cs.push_back({Op::gemm,
                        os.str(),
                        {fin("A", M * K), fin("B", K * N), fout("C", M * N)},
                        nullptr,
                        [=](Backend& be, const Ptrs& p) {
                          be.gemm(p.f(2), p.f(0), p.f(1), M, N, K, ta, tb, alpha, order);
                        },
                        kTolSum});
        }
}

void add_conv_cases(std::vector<Case>& cs) {
  const Conv2dShape shapes[] = {{2, 3, 7, 7, 3, 3, 1, 1},
                                {2, 3, 7, 7, 3, 3, 2, 0},
                                {1, 2, 6, 9, 2, 3, 2, 1},
                                {1, 1, 1, 1, 1, 1, 1, 0},
                                {8, 1, 28, 28, 3, 3, 1, 1}};
  for (const Conv2dShape& s : shapes) {
    const int64_t rows = s.n * s.oh() * s.ow(), ckk = s.c * s.kh * s.kw, nin = s.n * s.c * s.h * s.w;
    cs.push_back({Op::im2col,
                  conv_params(s),
                  {fin("in", nin), fout("col", rows * ckk)},
                  nullptr,
                  [s](Backend& be, const Ptrs& p) { be.im2col(p.f(1), p.f(0), s); },
                  kTolSame});
    cs.push_back({Op::col2im,
                  conv_params(s),
                  {fin("col", rows * ckk), fout("din", nin)},
                  nullptr,
                  [s](Backend& be, const Ptrs& p) { be.col2im(p.f(1), p.f(0), s); },
                  kTolSum});
  }
}

void add_elementwise_cases(std::vector<Case>& cs) {
  for (int64_t n : {1, 1000, 40000}) {  // 40000 > the 16384-element grain: split across threads
    const std::string sz = " n=" + std::to_string(n);
    for (UnaryOp op :
         {UnaryOp::relu, UnaryOp::exp, UnaryOp::log, UnaryOp::neg, UnaryOp::square, UnaryOp::sqrt}) {
      const bool positive = op == UnaryOp::log || op == UnaryOp::sqrt;
      auto init = [op, positive](Host& h, prism::Rng& rng) {
        if (positive) h.uniform(0, 0.01f, 4.0f, rng);
        if (op == UnaryOp::exp) h.uniform(0, -20.0f, 20.0f, rng);
        if (op == UnaryOp::relu) h.f(0)[0] = 0.0f;  // the kink
      };
      cs.push_back({Op::unary_forward,
                    std::string(unary_name(op)) + sz,
                    {fin("in", n), fout("out", n)},
                    init,
                    [op, n](Backend& be, const Ptrs& p) { be.unary_forward(op, p.f(1), p.f(0), n); },
                    op == UnaryOp::exp || op == UnaryOp::log ? kTolUlp : kTolSame});
      // Backward: `out` is the forward output (exp, sqrt use it), computed on the host from the reference.
      auto init_b = [op, positive](Host& h, prism::Rng& rng) {
        if (positive) h.uniform(1, 0.01f, 4.0f, rng);
        if (op == UnaryOp::relu) h.f(1)[0] = 0.0f;
        for (int64_t j = 0; j < h.n(1); ++j) h.f(2)[j] = prism::kern::unary_one(op, h.f(1)[j]);
      };
      cs.push_back(
          {Op::unary_backward,
           std::string(unary_name(op)) + sz,
           {fin("dout", n), fin("in", n), fin("out", n), fout("din", n)},
           init_b,
           [op, n](Backend& be, const Ptrs& p) { be.unary_backward(op, p.f(3), p.f(0), p.f(1), p.f(2), n); },
           kTolSame});
    }
    for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div}) {
      auto init = [op](Host& h, prism::Rng& rng) {
        if (op == BinaryOp::div) h.signed_magnitude(1, 0.25f, 2.0f, rng);
      };
      cs.push_back({Op::binary,
                    std::string(binary_name(op)) + sz,
                    {fin("a", n), fin("b", n), fout("out", n)},
                    init,
                    [op, n](Backend& be, const Ptrs& p) { be.binary(op, p.f(2), p.f(0), p.f(1), n); },
                    kTolSame});
      cs.push_back({Op::binary_scalar,
                    std::string(binary_name(op)) + sz,
                    {fin("a", n), fout("out", n)},
                    nullptr,
                    [op, n](Backend& be, const Ptrs& p) { be.binary_scalar(op, p.f(1), p.f(0), -1.625f, n); },
                    kTolSame});
    }
  }
  struct B {
    int64_t outer, mid, inner;
  };
  for (const B& s : {B{1, 1, 1}, B{300, 3, 1}, B{4, 32, 49}, B{64, 128, 1}, B{2, 3, 9000}})
    for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div}) {
      std::ostringstream os;
      os << binary_name(op) << " outer=" << s.outer << " mid=" << s.mid << " inner=" << s.inner;
      const int64_t n = s.outer * s.mid * s.inner;
      auto init = [op](Host& h, prism::Rng& rng) {
        if (op == BinaryOp::div) h.signed_magnitude(1, 0.25f, 2.0f, rng);
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

void add_reduce_cases(std::vector<Case>& cs) {
  for (int64_t n : {1, 300, 1024, 1025, 70000})  // 1025: five chunks, the parallel chunked path
    cs.push_back({Op::reduce_sum,
                  "n=" + std::to_string(n),
                  {fin("in", n), fout("out", 1)},
                  nullptr,
                  [n](Backend& be, const Ptrs& p) { be.reduce_sum(p.f(1), p.f(0), n); },
                  kTolSum});
  struct M {
    int64_t outer, mid, inner;
  };
  // (64, 1, 1000) and (300, 2, 5): fewer than 4 channels over more than 4 chunks, the parallel per-channel
  // path.
  for (const M& s : {M{1, 1, 1}, M{2, 3, 5}, M{64, 1, 1000}, M{300, 2, 5}, M{8, 32, 49}, M{1000, 4, 1}}) {
    std::ostringstream os;
    os << "outer=" << s.outer << " mid=" << s.mid << " inner=" << s.inner;
    cs.push_back({Op::reduce_mid,
                  os.str(),
                  {fin("in", s.outer * s.mid * s.inner), fout("out", s.mid)},
                  nullptr,
                  [s](Backend& be, const Ptrs& p) { be.reduce_mid(p.f(1), p.f(0), s.outer, s.mid, s.inner); },
                  kTolSum});
  }
  struct I {
    int64_t outer, inner;
  };
  for (const I& s : {I{1, 1}, I{5, 300}, I{1000, 64}, I{2, 5000}}) {
    std::ostringstream os;
    os << "outer=" << s.outer << " inner=" << s.inner;
    cs.push_back({Op::reduce_inner,
                  os.str(),
                  {fin("in", s.outer * s.inner), fout("out", s.outer)},
                  nullptr,
                  [s](Backend& be, const Ptrs& p) { be.reduce_inner(p.f(1), p.f(0), s.outer, s.inner); },
                  kTolSum});
  }
  struct T {
    int64_t batch, rows, cols;
  };
  for (const T& s : {T{1, 1, 1}, T{3, 37, 29}, T{1, 100, 70}, T{64, 49, 32}}) {
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

void add_pool_cases(std::vector<Case>& cs) {
  const Pool2dShape shapes[] = {{2, 3, 8, 8, 2, 2, 0},
                                {1, 2, 7, 7, 3, 2, 1},
                                {1, 1, 5, 5, 3, 1, 1},
                                {1, 1, 1, 1, 1, 1, 0},
                                {16, 32, 28, 28, 2, 2, 0}};
  for (const Pool2dShape& s : shapes) {
    const int64_t nin = s.n * s.c * s.h * s.w, nout = s.n * s.c * s.oh() * s.ow();
    // Forward on inputs with ties (values on a coarse grid): the first maximum in window order must win
    // everywhere.
    auto ties = [](Host& h, prism::Rng& rng) {
      for (int64_t j = 0; j < h.n(0); ++j) h.f(0)[j] = 0.25f * static_cast<float>(rng.below(8));
    };
    cs.push_back({Op::maxpool2d_forward,
                  pool_params(s),
                  {fin("in", nin), fout("out", nout), iout("argmax", nout)},
                  ties,
                  [s](Backend& be, const Ptrs& p) { be.maxpool2d_forward(p.f(1), p.i(2), p.f(0), s); },
                  kTolSame});
    // Backward: the argmax of a forward pass over random inputs, computed on the host by the reference.
    auto argmax = [s](Host& h, prism::Rng& rng) {
      std::vector<float> x(s.n * s.c * s.h * s.w);
      for (auto& v : x) v = 0.25f * static_cast<float>(rng.below(8));
      for (int64_t o = 0; o < h.n(1); ++o) prism::kern::maxpool2d_one(x.data(), s, o, h.i(1) + o);
    };
    cs.push_back({Op::maxpool2d_backward,
                  pool_params(s),
                  {fin("dout", nout), iin("argmax", nout), fout("din", nin)},
                  argmax,
                  [s](Backend& be, const Ptrs& p) { be.maxpool2d_backward(p.f(2), p.f(0), p.i(1), s); },
                  kTolSum});
    cs.push_back({Op::avgpool2d_forward,
                  pool_params(s),
                  {fin("in", nin), fout("out", nout)},
                  nullptr,
                  [s](Backend& be, const Ptrs& p) { be.avgpool2d_forward(p.f(1), p.f(0), s); },
                  kTolSum});
    cs.push_back({Op::avgpool2d_backward,
                  pool_params(s),
                  {fin("dout", nout), fout("din", nin)},
                  nullptr,
                  [s](Backend& be, const Ptrs& p) { be.avgpool2d_backward(p.f(1), p.f(0), s); },
                  kTolSum});
  }
}

void add_batchnorm_cases(std::vector<Case>& cs) {
  struct S {
    int64_t n, c, hw;
  };
  const float eps = 1e-5f;
  for (const S& s : {S{1, 1, 2}, S{6, 3, 1}, S{4, 3, 49}, S{64, 32, 196}, S{300, 2, 1}}) {
    std::ostringstream os;
    os << "x[" << s.n << "," << s.c << "," << s.hw << "]";
    const int64_t n = s.n * s.c * s.hw;
    auto x_offset = [](Host& h, prism::Rng& rng) { h.uniform(0, -1.0f, 3.0f, rng); };
    cs.push_back(
        {Op::batchnorm_stats,
         os.str(),
         {fin("x", n), fout("mean", s.c), fout("var", s.c)},
         x_offset,
         [s](Backend& be, const Ptrs& p) { be.batchnorm_stats(p.f(1), p.f(2), p.f(0), s.n, s.c, s.hw); },
         kTolSum});
    // Statistics of the actual x, computed on the host by the reference (as a training step would).
    auto stats = [s](Host& h, prism::Rng& rng) {
      h.uniform(0, -1.0f, 3.0f, rng);
      for (int64_t ch = 0; ch < s.c; ++ch)
        prism::kern::batchnorm_stats_one(h.f(1), h.f(2), h.f(0), s.n, s.c, s.hw, ch);
      h.uniform(3, 0.5f, 1.5f, rng);
    };
    cs.push_back(
        {Op::batchnorm_forward,
         os.str(),
         {fin("x", n), fin("mean", s.c), fin("var", s.c), fin("gamma", s.c), fin("beta", s.c), fout("y", n)},
         stats,
         [s, eps](Backend& be, const Ptrs& p) {
           be.batchnorm_forward(p.f(5), p.f(0), p.f(1), p.f(2), p.f(3), p.f(4), eps, s.n, s.c, s.hw);
         },
         kTolUlp});
    cs.push_back({Op::batchnorm_backward,
                  os.str(),
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
         os.str(),
         {finout("running_mean", s.c), finout("running_var", s.c), fin("mean", s.c), fin("var", s.c)},
         [](Host& h, prism::Rng& rng) {
           h.uniform(1, 0.1f, 2.0f, rng);
           h.uniform(3, 0.0f, 2.0f, rng);
         },
         [s, count](Backend& be, const Ptrs& p) {
           be.batchnorm_update_running(p.f(0), p.f(1), p.f(2), p.f(3), 0.1f, count, s.c);
         },
         kTolUlp});
  }
}

void add_normalize_cases(std::vector<Case>& cs) {
  struct S {
    int64_t rows, dim;
  };
  const float eps = 1e-12f;
  for (const S& s : {S{1, 1}, S{7, 5}, S{64, 512}, S{3, 1000}, S{100, 3}}) {
    std::ostringstream os;
    os << "x[" << s.rows << "," << s.dim << "]";
    const int64_t n = s.rows * s.dim;
    auto zero_row = [s](Host& h, prism::Rng&) {
      if (s.rows > 2)
        for (int64_t j = 0; j < s.dim; ++j) h.f(0)[s.dim + j] = 0.0f;  // row 1 clamps to eps
    };
    cs.push_back({Op::l2_normalize_forward,
                  os.str() + (s.rows > 2 ? " (row 1 zero)" : ""),
                  {fin("x", n), fout("y", n), fout("norm", s.rows)},
                  zero_row,
                  [s, eps](Backend& be, const Ptrs& p) {
                    be.l2_normalize_forward(p.f(1), p.f(2), p.f(0), s.rows, s.dim, eps);
                  },
                  kTolSum});
    // y and norm from the reference forward of a random x (with the zero row), dy random.
    auto fwd = [s, eps](Host& h, prism::Rng& rng) {
      std::vector<float> x(s.rows * s.dim);
      for (auto& v : x) v = rng.uniform(-1.0f, 1.0f);
      if (s.rows > 2)
        for (int64_t j = 0; j < s.dim; ++j) x[s.dim + j] = 0.0f;
      for (int64_t r = 0; r < s.rows; ++r)
        prism::kern::l2_normalize_row(h.f(1), h.f(2), x.data(), s.dim, eps, r);
    };
    cs.push_back({Op::l2_normalize_backward,
                  os.str() + (s.rows > 2 ? " (row 1 zero)" : ""),
                  {fin("dy", n), fin("y", n), fin("norm", s.rows), fout("dx", n)},
                  fwd,
                  [s, eps](Backend& be, const Ptrs& p) {
                    be.l2_normalize_backward(p.f(3), p.f(0), p.f(1), p.f(2), s.rows, s.dim, eps);
                  },
                  kTolSum});
    cs.push_back({Op::softmax_rows,
                  os.str(),
                  {fin("in", n), fout("out", n)},
                  [](Host& h, prism::Rng& rng) { h.uniform(0, -8.0f, 8.0f, rng); },
                  [s](Backend& be, const Ptrs& p) { be.softmax_rows(p.f(1), p.f(0), s.rows, s.dim); },
                  kTolSum});
  }
}

void add_optim_cases(std::vector<Case>& cs) {
  for (int64_t n : {1, 1000, 40000}) {
    const std::string sz = "n=" + std::to_string(n);
    struct V {
      const char* name;
      prism::SgdParams p;
    };
    const V variants[] = {{"plain", {0.1f, 0.0f, 0.0f, 0.0f, false, false}},
                          {"momentum first step", {0.1f, 0.9f, 0.0f, 5e-4f, false, true}},
                          {"momentum dampening", {0.05f, 0.9f, 0.1f, 5e-4f, false, false}},
                          {"nesterov", {0.05f, 0.9f, 0.0f, 1e-4f, true, false}}};
    for (const V& v : variants) {
      const prism::SgdParams sp = v.p;
      if (sp.momentum == 0.0f)  // the buffer is not touched and may be null
        cs.push_back({Op::sgd_update,
                      std::string(v.name) + " " + sz,
                      {finout("param", n), fin("grad", n)},
                      nullptr,
                      [sp, n](Backend& be, const Ptrs& p) { be.sgd_update(p.f(0), nullptr, p.f(1), n, sp); },
                      kTolUlp});
      else
        cs.push_back({Op::sgd_update,
                      std::string(v.name) + " " + sz,
                      {finout("param", n), finout("momentum", n), fin("grad", n)},
                      nullptr,
                      [sp, n](Backend& be, const Ptrs& p) { be.sgd_update(p.f(0), p.f(1), p.f(2), n, sp); },
                      kTolUlp});
    }
    for (int t : {1, 10}) {
      const prism::AdamParams ap = prism::kern::adam_params(3e-4, 0.9, 0.999, 1e-8, 5e-4, t);
      cs.push_back(
          {Op::adam_update,
           "step " + std::to_string(t) + " " + sz,
           {finout("param", n), finout("m", n), finout("v", n), fin("grad", n)},
           [](Host& h, prism::Rng& rng) {
             h.uniform(1, -0.01f, 0.01f, rng);
             h.uniform(2, 0.0f, 1e-4f, rng);  // second moments are non-negative
           },
           [ap, n](Backend& be, const Ptrs& p) { be.adam_update(p.f(0), p.f(1), p.f(2), p.f(3), n, ap); },
           kTolUlp});
    }
  }
}

void add_dml_cases(std::vector<Case>& cs) {
  struct S {
    int64_t rows, cols;
  };
  const float margin = 0.5f, pos_eps = 1e-5f;
  for (const S& s : {S{1, 1}, S{7, 13}, S{64, 64}, S{64, 1000}})
    for (bool masks : {false, true}) {
      std::ostringstream os;
      os << "sim[" << s.rows << "," << s.cols << "]" << (masks ? " masked" : "");
      auto init = [s](Host& h, prism::Rng& rng) {
        h.integers(1, 4, rng);
        h.integers(2, 4, rng);
        for (int64_t j = 0; j < h.n(3); ++j) h.i(3)[j] = rng.bernoulli(0.75f);
        for (int64_t j = 0; j < h.n(4); ++j) h.i(4)[j] = rng.bernoulli(0.75f);
        if (s.rows == s.cols)  // a batch against itself: the diagonal is each sample with itself
          for (int64_t i = 0; i < s.rows; ++i) h.f(0)[i * s.cols + i] = 1.0f;
      };
      const std::vector<ArgSpec> in = {fin("sim", s.rows * s.cols), iin("row_labels", s.rows),
                                       iin("col_labels", s.cols), iin("row_mask", s.rows),
                                       iin("col_mask", s.cols)};
      std::vector<ArgSpec> fwd_args = in, bwd_args = in;
      fwd_args.push_back(fout("row_loss", s.rows));
      bwd_args.push_back(fout("dsim", s.rows * s.cols));
      cs.push_back({Op::contrastive_forward, os.str(), fwd_args, init,
                    [=](Backend& be, const Ptrs& p) {
                      be.contrastive_forward(p.f(5), p.f(0), p.i(1), p.i(2), masks ? p.i(3) : nullptr,
                                             masks ? p.i(4) : nullptr, s.rows, s.cols, margin, pos_eps);
                    },
                    kTolSum});
      cs.push_back({Op::contrastive_backward, os.str(), bwd_args, init,
                    [=](Backend& be, const Ptrs& p) {
                      be.contrastive_backward(p.f(5), p.f(0), p.i(1), p.i(2), masks ? p.i(3) : nullptr,
                                              masks ? p.i(4) : nullptr, s.rows, s.cols, margin, pos_eps,
                                              1.0f / static_cast<float>(s.rows));
                    },
                    kTolSame});
    }
  // Class means of memory rows: `order` lists the rows of each group, `offsets` delimits the groups (one
  // empty, one larger than a reduction chunk).
  struct G {
    int64_t rows, groups, dim;
  };
  for (const G& g : {G{1, 1, 1}, G{10, 4, 3}, G{700, 5, 64}, G{2000, 30, 16}}) {
    std::ostringstream os;
    os << "in[" << g.rows << "," << g.dim << "] groups=" << g.groups;
    auto init = [g](Host& h, prism::Rng& rng) {
      int32_t* order = h.i(1);
      for (int64_t r = 0; r < g.rows; ++r) order[r] = static_cast<int32_t>(r);
      for (int64_t r = g.rows - 1; r > 0; --r)
        std::swap(order[r], order[rng.below(static_cast<uint32_t>(r + 1))]);
      // Group sizes: group 0 takes ~60% (beyond a chunk when rows is large), group 1 is empty (if groups >
      // 2), the rest split the remainder.
      int32_t* off = h.i(2);
      off[0] = 0;
      const int64_t first = g.groups == 1 ? g.rows : g.rows * 3 / 5;
      off[1] = static_cast<int32_t>(first);
      for (int64_t k = 2; k <= g.groups; ++k) {
        const int64_t rest = g.rows - off[k - 1], left = g.groups - (k - 1);
        off[k] = static_cast<int32_t>(off[k - 1] + (k == 2 && g.groups > 2 ? 0 : rest / left));
      }
      off[g.groups] = static_cast<int32_t>(g.rows);
    };
    cs.push_back({Op::segment_mean_rows,
                  os.str(),
                  {fin("in", g.rows * g.dim), iin("order", g.rows), iin("offsets", g.groups + 1),
                   fout("out", g.groups * g.dim)},
                  init,
                  [g](Backend& be, const Ptrs& p) {
                    be.segment_mean_rows(p.f(3), p.f(0), p.i(1), p.i(2), g.groups, g.dim);
                  },
                  kTolSum});
  }
  struct C {
    int64_t dst_rows, src_rows, count, dim;
  };
  for (const C& c : {C{1, 1, 1, 1}, C{20, 8, 8, 5}, C{9500, 64, 64, 128}, C{100, 300, 40, 3}}) {
    std::ostringstream os;
    os << "dst[" << c.dst_rows << "," << c.dim << "] src[" << c.src_rows << "," << c.dim
       << "] count=" << c.count;
    auto init = [c](Host& h, prism::Rng& rng) {
      // Distinct destination rows (a ring write), any source rows.
      std::vector<int32_t> rows(c.dst_rows);
      for (int64_t r = 0; r < c.dst_rows; ++r) rows[r] = static_cast<int32_t>(r);
      for (int64_t r = 0; r < c.count; ++r)
        std::swap(rows[r], rows[r + rng.below(static_cast<uint32_t>(c.dst_rows - r))]);
      std::copy_n(rows.begin(), c.count, h.i(1));
      h.integers(3, static_cast<uint32_t>(c.src_rows), rng);
    };
    cs.push_back(
        {Op::copy_rows,
         os.str(),
         {finout("dst", c.dst_rows * c.dim), iin("dst_rows", c.count), fin("src", c.src_rows * c.dim),
          iin("src_rows", c.count)},
         init,
         [c](Backend& be, const Ptrs& p) { be.copy_rows(p.f(0), p.i(1), p.f(2), p.i(3), c.count, c.dim); },
         kTolSame});
  }
}

const std::vector<Case>& all_cases() {
  static const std::vector<Case> cases = [] {
    std::vector<Case> cs;
    add_memory_cases(cs);
    add_gemm_cases(cs);
    add_conv_cases(cs);
    add_elementwise_cases(cs);
    add_reduce_cases(cs);
    add_pool_cases(cs);
    add_batchnorm_cases(cs);
    add_normalize_cases(cs);
    add_optim_cases(cs);
    add_dml_cases(cs);
    return cs;
  }();
  return cases;
}

uint64_t case_seed(size_t idx) {
  return 1000 + idx;
}

}  // namespace

// ==== the tests
// ==================================================================================================

TEST_CASE("parity: every Op of the backend interface has a parity case", "[parity]") {
  std::set<int> covered;
  for (const Case& c : all_cases()) covered.insert(static_cast<int>(c.op));
  for (int op = 0; op < static_cast<int>(Op::count); ++op) {
    INFO("Op::" << prism::op_name(static_cast<Op>(op)) << " has no case in tests/test_parity.cpp");
    CHECK(covered.count(op) == 1);
  }
  for (const Case& c : all_cases()) {
    INFO(c.describe());
    CHECK(c.fast_tol <= 1e-8);  // the design's bound on any op
  }
}

TEST_CASE("parity: CPU exact vs reference loops and 1 vs 2 threads (memcmp), fast vs exact (nMSE), guards",
          "[parity]") {
  const size_t idx = GENERATE(range(size_t(0), all_cases().size()));
  const Case& c = all_cases()[idx];
  INFO("case " << idx << ": " << c.describe());
  Backend& cpu = prism::backend(DeviceType::cpu);
  const Host host = make_inputs(c, case_seed(idx));
  std::vector<std::vector<uint32_t>> reference, exact1, exact2, fast;
  {
    prism::ScopedMode mode(Mode::exact);
    prism::test::ReferenceBackend loops;
    reference = execute(c, host, loops);
    {
      prism::ScopedThreads threads(1);
      exact1 = execute(c, host, cpu);
    }
    prism::ScopedThreads threads(2);
    exact2 = execute(c, host, cpu);
  }
  require_identical(c, exact1, reference, "cpu exact (1 thread) vs reference loops");
  require_identical(c, exact2, exact1, "cpu exact, 2 threads vs 1 thread");
  {
    prism::ScopedMode mode(Mode::fast);
    prism::ScopedThreads threads(2);
    fast = execute(c, host, cpu);
  }
  require_close(c, fast, exact1, "cpu fast vs cpu exact");
}

TEST_CASE("parity: CUDA vs CPU, exact (memcmp) and fast (nMSE)", "[parity][cuda]") {
  if (!prism::device_available(DeviceType::cuda)) {
    WARN("CUDA parity skipped: " << prism::device_unavailable_reason(DeviceType::cuda));
    return;
  }
  const size_t idx = GENERATE(range(size_t(0), all_cases().size()));
  const Case& c = all_cases()[idx];
  INFO("case " << idx << ": " << c.describe());
  Backend& cpu = prism::backend(DeviceType::cpu);
  Backend& gpu = prism::backend(DeviceType::cuda);
  if (!gpu.supports(c.op)) {
    WARN("cuda does not support " << prism::op_name(c.op) << ": case skipped");
    return;
  }
  const Host host = make_inputs(c, case_seed(idx));
  std::vector<std::vector<uint32_t>> ref, exact, fast;
  {
    prism::ScopedMode mode(Mode::exact);
    ref = execute(c, host, cpu);
    exact = execute(c, host, gpu);
  }
  require_identical(c, exact, ref, "cuda exact vs cpu exact");
  {
    prism::ScopedMode mode(Mode::fast);
    fast = execute(c, host, gpu);
  }
  require_close(c, fast, ref, "cuda fast vs cpu exact");
}
