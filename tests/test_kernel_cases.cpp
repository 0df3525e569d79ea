// The kernel case table of tests/kernel_cases.hpp (inputs from Philox, one case per op and shape), and its
// own checks on the CPU backend: every op has a case, every output element is written, guards stay intact,
// and a case run twice gives the same bits.
#include "kernel_cases.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/kernels/optim.hpp"

namespace prism::testing {

namespace {

// A signalling NaN: no arithmetic produces it (results are quietened), so an output element still holding it
// was never written.
constexpr uint32_t kPoison = 0x7FA0DEADu;
constexpr uint32_t kGuardWord = 0x5EADBEEFu;
constexpr int64_t kGuard = 16;

float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

// ---- CaseRun
// ---------------------------------------------------------------------------------------------------

CaseRun::~CaseRun() {
  for (auto& b : bufs_) be_.dealloc(b.ptr, b.bytes);
}

void* CaseRun::put(const void* host, size_t bytes, const std::string& name, bool is_f32, int64_t n,
                   bool guarded) {
  const size_t total = bytes + (guarded ? kGuard * 4 : 0);
  std::vector<uint32_t> staging(total / 4, kGuardWord);
  if (host)
    std::memcpy(staging.data(), host, bytes);
  else
    std::fill_n(staging.begin(), bytes / 4, kPoison);
  void* p = be_.alloc(total > 0 ? total : 4);
  if (total) be_.upload(p, staging.data(), total);
  bufs_.push_back(Buffer{p, total > 0 ? total : 4, name, is_f32, n});
  return p;
}

float* CaseRun::in(const std::vector<float>& v) {
  return static_cast<float*>(put(v.data(), v.size() * 4, "", true, static_cast<int64_t>(v.size()), false));
}
int32_t* CaseRun::in_i32(const std::vector<int32_t>& v) {
  return static_cast<int32_t*>(put(v.data(), v.size() * 4, "", false, static_cast<int64_t>(v.size()), false));
}
float* CaseRun::out(const std::string& name, int64_t n) {
  return static_cast<float*>(put(nullptr, n * 4, name, true, n, true));
}
int32_t* CaseRun::out_i32(const std::string& name, int64_t n) {
  return static_cast<int32_t*>(put(nullptr, n * 4, name, false, n, true));
}
float* CaseRun::inout(const std::string& name, const std::vector<float>& v) {
  return static_cast<float*>(put(v.data(), v.size() * 4, name, true, static_cast<int64_t>(v.size()), true));
}

std::vector<CaseOutput> CaseRun::collect() {
  be_.synchronize();
  std::vector<CaseOutput> outs;
  for (auto& b : bufs_) {
    if (b.name.empty()) continue;
    std::vector<uint32_t> all((b.n + kGuard));
    be_.download(all.data(), b.ptr, all.size() * 4);
    CaseOutput o;
    o.name = b.name;
    o.is_f32 = b.is_f32;
    o.bits.assign(all.begin(), all.begin() + b.n);
    for (int64_t g = 0; g < kGuard; ++g) o.guard_ok = o.guard_ok && all[b.n + g] == kGuardWord;
    outs.push_back(std::move(o));
  }
  return outs;
}

std::vector<CaseOutput> run_case(const KernelCase& c, Backend& be) {
  CaseRun run(be);
  c.run(run);
  return run.collect();
}

int64_t first_difference(const CaseOutput& a, const CaseOutput& b) {
  if (a.bits.size() != b.bits.size()) return 0;
  for (size_t i = 0; i < a.bits.size(); ++i) {
    if (a.bits[i] == b.bits[i]) continue;
    if (a.is_f32 && std::isnan(bits_to_float(a.bits[i])) && std::isnan(bits_to_float(b.bits[i]))) continue;
    return static_cast<int64_t>(i);
  }
  return -1;
}

std::string describe_difference(const CaseOutput& a, const CaseOutput& b, int64_t i) {
  char buf[256];
  if (a.bits.size() != b.bits.size()) {
    std::snprintf(buf, sizeof buf, "%s: sizes differ (%zu vs %zu)", a.name.c_str(), a.bits.size(),
                  b.bits.size());
  } else if (a.is_f32) {
    std::snprintf(buf, sizeof buf, "%s[%lld]: %.9g (0x%08x) vs %.9g (0x%08x)", a.name.c_str(), (long long)i,
                  bits_to_float(a.bits[i]), a.bits[i], bits_to_float(b.bits[i]), b.bits[i]);
  } else {
    std::snprintf(buf, sizeof buf, "%s[%lld]: %d vs %d", a.name.c_str(), (long long)i, (int32_t)a.bits[i],
                  (int32_t)b.bits[i]);
  }
  return buf;
}

double normalized_mse(const CaseOutput& a, const CaseOutput& b) {
  if (a.bits.size() != b.bits.size()) return std::numeric_limits<double>::infinity();
  if (!a.is_f32) return first_difference(a, b) < 0 ? 0.0 : std::numeric_limits<double>::infinity();
  double num = 0, den = 0;
  for (size_t i = 0; i < a.bits.size(); ++i) {
    const double x = bits_to_float(a.bits[i]), y = bits_to_float(b.bits[i]);
    if (!std::isfinite(x) || !std::isfinite(y)) {
      const bool same_kind = (std::isnan(x) && std::isnan(y)) || x == y;
      if (!same_kind) return std::numeric_limits<double>::infinity();
      continue;
    }
    num += (x - y) * (x - y);
    den += y * y;
  }
  if (num == 0) return 0;
  return den > 0 ? num / den : std::numeric_limits<double>::infinity();
}

// ---- input generators
// ----------------------------------------------------------------------------------------

namespace {

std::vector<float> uniform(Rng& rng, int64_t n, float lo, float hi) {
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

// Values on a coarse grid, so that maxima tie and sums hit exact halfway cases.
std::vector<float> coarse(Rng& rng, int64_t n, int levels) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.below(levels)) / 4.0f - 1.0f;
  return v;
}

// Magnitudes spread over many binades: sums then depend on their order.
std::vector<float> spread(Rng& rng, int64_t n) {
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(-1, 1) * std::ldexp(1.0f, static_cast<int>(rng.below(24)) - 12);
  return v;
}

std::vector<int32_t> labels(Rng& rng, int64_t n, int classes) {
  std::vector<int32_t> v(n);
  for (auto& x : v) x = static_cast<int32_t>(rng.below(classes));
  return v;
}

void put_specials(std::vector<float>& v, const std::vector<float>& specials) {
  for (size_t i = 0; i < specials.size() && i * 7 < v.size(); ++i) v[i * 7] = specials[i];
}

const std::vector<float>& specials() {
  static const std::vector<float> s = {0.0f,
                                       -0.0f,
                                       1.0f,
                                       -1.0f,
                                       std::numeric_limits<float>::infinity(),
                                       -std::numeric_limits<float>::infinity(),
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

const char* unary_name(UnaryOp op) {
  static const char* names[] = {"relu", "exp", "log", "neg", "square", "sqrt"};
  return names[static_cast<int>(op)];
}
const char* binary_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div"};
  return names[static_cast<int>(op)];
}

std::string conv_label(const Conv2dShape& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "n=%lld c=%lld h=%lld w=%lld kh=%lld kw=%lld stride=%lld pad=%lld",
                (long long)s.n, (long long)s.c, (long long)s.h, (long long)s.w, (long long)s.kh,
                (long long)s.kw, (long long)s.stride, (long long)s.pad);
  return buf;
}
std::string pool_label(const Pool2dShape& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "n=%lld c=%lld h=%lld w=%lld k=%lld stride=%lld pad=%lld", (long long)s.n,
                (long long)s.c, (long long)s.h, (long long)s.w, (long long)s.k, (long long)s.stride,
                (long long)s.pad);
  return buf;
}

// ---- the table
// -----------------------------------------------------------------------------------------------

class Table {
 public:
  void add(Op op, std::string label, std::function<void(CaseRun&, Rng&)> body, bool large = false) {
    const uint64_t seed = cases_.size() + 1;
    std::string full = std::string(op_name(op)) + " " + label;
    cases_.push_back(KernelCase{op, full, large, [seed, body](CaseRun& run) {
                                  Rng rng(seed, RngStream::test);
                                  body(run, rng);
                                }});
  }
  std::vector<KernelCase> take() { return std::move(cases_); }

 private:
  std::vector<KernelCase> cases_;
};

void add_memory_cases(Table& t) {
  t.add(Op::fill, "f32 n=1000 value=0.37",
        [](CaseRun& r, Rng&) { r.backend().fill_f32(r.out("x", 1000), 0.37f, 1000); });
  t.add(Op::fill, "i32 n=777 value=-5",
        [](CaseRun& r, Rng&) { r.backend().fill_i32(r.out_i32("x", 777), -5, 777); });
  t.add(Op::copy, "n=1000", [](CaseRun& r, Rng& g) {
    const float* src = r.in(uniform(g, 1000, -1, 1));
    r.backend().copy(r.out("dst", 1000), src, 1000 * 4);
  });
}

void add_gemm_cases(Table& t) {
  struct Mnk {
    int64_t m, n, k;
  };
  const Mnk shapes[] = {{1, 1, 1},     {5, 7, 3},     {64, 64, 16}, {65, 63, 17},
                        {37, 45, 300}, {20, 30, 600}, {3, 130, 513}};
  int index = 0;
  for (const Mnk& s : shapes)
    for (int trans = 0; trans < 4; ++trans)
      for (GemmOrder order : {GemmOrder::chain, GemmOrder::chunked}) {
        const bool ta = trans & 1, tb = trans & 2;
        const float alpha = (index++ % 3 == 2) ? 0.375f : 1.0f;
        char label[160];
        std::snprintf(label, sizeof label, "M=%lld N=%lld K=%lld ta=%d tb=%d alpha=%g %s", (long long)s.m,
                      (long long)s.n, (long long)s.k, ta, tb, alpha,
                      order == GemmOrder::chain ? "chain" : "chunked");
        t.add(Op::gemm, label, [s, ta, tb, alpha, order](CaseRun& r, Rng& g) {
          const float* A = r.in(spread(g, s.m * s.k));
          const float* B = r.in(spread(g, s.k * s.n));
          r.backend().gemm(r.out("C", s.m * s.n), A, B, s.m, s.n, s.k, ta, tb, alpha, order);
        });
      }
  t.add(Op::gemm, "M=4 N=5 K=0 (zeros)", [](CaseRun& r, Rng&) {
    r.backend().gemm(r.out("C", 20), nullptr, nullptr, 4, 5, 0, false, false, 1.0f, GemmOrder::chain);
  });
  // The fmnist-cnn shapes: conv forward rows · Wᵀ (chain) and the weight gradient over the batch (chunked).
  t.add(
      Op::gemm, "M=50176 N=32 K=288 ta=0 tb=1 chain (conv forward)",
      [](CaseRun& r, Rng& g) {
        const float* A = r.in(uniform(g, 50176 * 288, -1, 1));
        const float* B = r.in(uniform(g, 32 * 288, -1, 1));
        r.backend().gemm(r.out("C", 50176 * 32), A, B, 50176, 32, 288, false, true, 1.0f, GemmOrder::chain);
      },
      true);
  t.add(
      Op::gemm, "M=32 N=288 K=50176 ta=1 tb=0 chunked (conv weight gradient)",
      [](CaseRun& r, Rng& g) {
        const float* A = r.in(uniform(g, 50176 * 32, -1, 1));
        const float* B = r.in(uniform(g, 50176 * 288, -1, 1));
        r.backend().gemm(r.out("C", 32 * 288), A, B, 32, 288, 50176, true, false, 1.0f, GemmOrder::chunked);
      },
      true);
  t.add(
      Op::gemm, "M=512 N=512 K=512 ta=0 tb=0 alpha=0.5 chunked",
      [](CaseRun& r, Rng& g) {
        const float* A = r.in(spread(g, 512 * 512));
        const float* B = r.in(spread(g, 512 * 512));
        r.backend().gemm(r.out("C", 512 * 512), A, B, 512, 512, 512, false, false, 0.5f, GemmOrder::chunked);
      },
      true);
}

void add_conv_cases(Table& t) {
  const Conv2dShape shapes[] = {{2, 3, 9, 8, 3, 3, 1, 1},
                                {1, 2, 11, 10, 5, 3, 2, 2},
                                {2, 1, 7, 7, 2, 2, 3, 0},
                                {1, 4, 5, 5, 1, 1, 1, 0}};
  for (const Conv2dShape& s : shapes) {
    const int64_t rows = s.n * s.oh() * s.ow(), ckk = s.c * s.kh * s.kw, in = s.n * s.c * s.h * s.w;
    t.add(Op::im2col, conv_label(s), [s, rows, ckk, in](CaseRun& r, Rng& g) {
      r.backend().im2col(r.out("col", rows * ckk), r.in(uniform(g, in, -1, 1)), s);
    });
    t.add(Op::col2im, conv_label(s), [s, rows, ckk, in](CaseRun& r, Rng& g) {
      r.backend().col2im(r.out("din", in), r.in(spread(g, rows * ckk)), s);
    });
  }
  const Conv2dShape big{64, 32, 14, 14, 3, 3, 1, 1};
  t.add(
      Op::col2im, conv_label(big),
      [big](CaseRun& r, Rng& g) {
        const int64_t rows = big.n * big.oh() * big.ow(), ckk = big.c * 9;
        r.backend().col2im(r.out("din", big.n * big.c * big.h * big.w), r.in(uniform(g, rows * ckk, -1, 1)),
                           big);
      },
      true);
}

void add_elementwise_cases(Table& t) {
  for (UnaryOp op :
       {UnaryOp::relu, UnaryOp::exp, UnaryOp::log, UnaryOp::neg, UnaryOp::square, UnaryOp::sqrt}) {
    t.add(Op::unary_forward, std::string(unary_name(op)) + " n=3000 with specials", [op](CaseRun& r, Rng& g) {
      std::vector<float> x = op == UnaryOp::exp   ? uniform(g, 3000, -110, 95)
                             : op == UnaryOp::log ? spread(g, 3000)
                                                  : uniform(g, 3000, -3, 3);
      if (op == UnaryOp::log || op == UnaryOp::sqrt)
        for (auto& v : x) v = std::fabs(v);
      put_specials(x, specials());
      r.backend().unary_forward(op, r.out("out", 3000), r.in(x), 3000);
    });
    t.add(Op::unary_backward, std::string(unary_name(op)) + " n=1000", [op](CaseRun& r, Rng& g) {
      std::vector<float> in = uniform(g, 1000, -2, 2), out = uniform(g, 1000, 0.1f, 3);
      put_specials(in, {0.0f, -0.0f});
      r.backend().unary_backward(op, r.out("din", 1000), r.in(uniform(g, 1000, -1, 1)), r.in(in), r.in(out),
                                 1000);
    });
  }
  t.add(Op::unary_backward, "neg n=100 (in and out null)", [](CaseRun& r, Rng& g) {
    r.backend().unary_backward(UnaryOp::neg, r.out("din", 100), r.in(uniform(g, 100, -1, 1)), nullptr,
                               nullptr, 100);
  });
  for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div}) {
    t.add(Op::binary, std::string(binary_name(op)) + " n=2000", [op](CaseRun& r, Rng& g) {
      std::vector<float> a = spread(g, 2000), b = spread(g, 2000);
      put_specials(b, specials());
      r.backend().binary(op, r.out("out", 2000), r.in(a), r.in(b), 2000);
    });
    t.add(Op::binary_scalar, std::string(binary_name(op)) + " n=500 b=-0.3", [op](CaseRun& r, Rng& g) {
      r.backend().binary_scalar(op, r.out("out", 500), r.in(spread(g, 500)), -0.3f, 500);
    });
    for (int64_t inner : {7, 1}) {
      const int64_t outer = 3, mid = 5;
      t.add(Op::broadcast_binary,
            std::string(binary_name(op)) + " outer=3 mid=5 inner=" + std::to_string(inner),
            [op, outer, mid, inner](CaseRun& r, Rng& g) {
              const int64_t n = outer * mid * inner;
              r.backend().broadcast_binary(op, r.out("out", n), r.in(spread(g, n)),
                                           r.in(uniform(g, mid, 0.5f, 2)), outer, mid, inner);
            });
    }
  }
}

void add_reduce_cases(Table& t) {
  for (int64_t n : {0, 1, 255, 256, 257, 1000, 70000})
    t.add(Op::reduce_sum, "n=" + std::to_string(n),
          [n](CaseRun& r, Rng& g) { r.backend().reduce_sum(r.out("sum", 1), r.in(spread(g, n)), n); });
  struct Omi {
    int64_t outer, mid, inner;
  };
  for (Omi s : {Omi{3, 5, 7}, Omi{64, 4, 300}, Omi{2, 3, 1}, Omi{1, 2, 600}, Omi{0, 3, 4}})
    t.add(Op::reduce_mid,
          "outer=" + std::to_string(s.outer) + " mid=" + std::to_string(s.mid) +
              " inner=" + std::to_string(s.inner),
          [s](CaseRun& r, Rng& g) {
            r.backend().reduce_mid(r.out("out", s.mid), r.in(spread(g, s.outer * s.mid * s.inner)), s.outer,
                                   s.mid, s.inner);
          });
  for (Omi s : {Omi{5, 1, 1000}, Omi{7, 1, 3}, Omi{3, 1, 256}, Omi{2, 1, 257}})
    t.add(Op::reduce_inner, "outer=" + std::to_string(s.outer) + " inner=" + std::to_string(s.inner),
          [s](CaseRun& r, Rng& g) {
            r.backend().reduce_inner(r.out("out", s.outer), r.in(spread(g, s.outer * s.inner)), s.outer,
                                     s.inner);
          });
  for (Omi s : {Omi{2, 33, 17}, Omi{1, 1, 5}, Omi{3, 64, 65}})
    t.add(Op::transpose,
          "batch=" + std::to_string(s.outer) + " rows=" + std::to_string(s.mid) +
              " cols=" + std::to_string(s.inner),
          [s](CaseRun& r, Rng& g) {
            const int64_t n = s.outer * s.mid * s.inner;
            r.backend().transpose(r.out("out", n), r.in(uniform(g, n, -1, 1)), s.outer, s.mid, s.inner);
          });
  t.add(
      Op::reduce_mid, "outer=64 mid=32 inner=784 (conv bias gradient)",
      [](CaseRun& r, Rng& g) {
        r.backend().reduce_mid(r.out("out", 32), r.in(spread(g, 64 * 32 * 784)), 64, 32, 784);
      },
      true);
  t.add(
      Op::reduce_sum, "n=3000000",
      [](CaseRun& r, Rng& g) { r.backend().reduce_sum(r.out("sum", 1), r.in(spread(g, 3000000)), 3000000); },
      true);
}

void add_pool_cases(Table& t) {
  const Pool2dShape shapes[] = {{2, 3, 9, 9, 2, 2, 0}, {2, 2, 10, 11, 3, 2, 1}, {1, 3, 6, 6, 3, 1, 1}};
  for (const Pool2dShape& s : shapes) {
    const int64_t in = s.n * s.c * s.h * s.w, out = s.n * s.c * s.oh() * s.ow();
    t.add(Op::maxpool2d_forward, pool_label(s) + " (ties)", [s, in, out](CaseRun& r, Rng& g) {
      r.backend().maxpool2d_forward(r.out("out", out), r.out_i32("argmax", out), r.in(coarse(g, in, 6)), s);
    });
    t.add(Op::maxpool2d_backward, pool_label(s), [s, in, out](CaseRun& r, Rng& g) {
      // argmax from a forward pass on the same backend, as in training
      const float* x = r.in(coarse(g, in, 6));
      float* y = r.out("forward out", out);
      int32_t* arg = r.out_i32("argmax", out);
      r.backend().maxpool2d_forward(y, arg, x, s);
      r.backend().maxpool2d_backward(r.out("din", in), r.in(spread(g, out)), arg, s);
    });
    t.add(Op::avgpool2d_forward, pool_label(s), [s, in, out](CaseRun& r, Rng& g) {
      r.backend().avgpool2d_forward(r.out("out", out), r.in(spread(g, in)), s);
    });
    t.add(Op::avgpool2d_backward, pool_label(s), [s, in, out](CaseRun& r, Rng& g) {
      r.backend().avgpool2d_backward(r.out("din", in), r.in(spread(g, out)), s);
    });
  }
}

void add_batchnorm_cases(Table& t) {
  struct Nch {
    int64_t n, c, hw;
  };
  auto label = [](Nch s) {
    return "n=" + std::to_string(s.n) + " c=" + std::to_string(s.c) + " hw=" + std::to_string(s.hw);
  };
  for (Nch s : {Nch{4, 3, 100}, Nch{64, 2, 49}, Nch{5, 7, 1}, Nch{2, 3, 300}}) {
    const int64_t len = s.n * s.c * s.hw;
    t.add(Op::batchnorm_stats, label(s), [s, len](CaseRun& r, Rng& g) {
      std::vector<float> x = spread(g, len);
      for (auto& v : x) v += 3.0f;  // a mean far from 0, so the centred second pass matters
      r.backend().batchnorm_stats(r.out("mean", s.c), r.out("var", s.c), r.in(x), s.n, s.c, s.hw);
    });
    t.add(Op::batchnorm_forward, label(s), [s, len](CaseRun& r, Rng& g) {
      r.backend().batchnorm_forward(r.out("y", len), r.in(uniform(g, len, -2, 2)),
                                    r.in(uniform(g, s.c, -1, 1)), r.in(uniform(g, s.c, 0, 2)),
                                    r.in(uniform(g, s.c, 0.5f, 1.5f)), r.in(uniform(g, s.c, -0.5f, 0.5f)),
                                    1e-5f, s.n, s.c, s.hw);
    });
    t.add(Op::batchnorm_backward, label(s), [s, len](CaseRun& r, Rng& g) {
      r.backend().batchnorm_backward(r.out("dx", len), r.out("dgamma", s.c), r.out("dbeta", s.c),
                                     r.in(spread(g, len)), r.in(uniform(g, len, -2, 2)),
                                     r.in(uniform(g, s.c, -1, 1)), r.in(uniform(g, s.c, 0, 2)),
                                     r.in(uniform(g, s.c, 0.5f, 1.5f)), 1e-5f, s.n, s.c, s.hw);
    });
  }
  t.add(Op::batchnorm_update_running, "c=9 count=400", [](CaseRun& r, Rng& g) {
    r.backend().batchnorm_update_running(r.inout("running_mean", uniform(g, 9, -1, 1)),
                                         r.inout("running_var", uniform(g, 9, 0, 2)),
                                         r.in(uniform(g, 9, -1, 1)), r.in(uniform(g, 9, 0, 2)), 0.1f, 400, 9);
  });
  t.add(Op::batchnorm_update_running, "c=3 count=1", [](CaseRun& r, Rng& g) {
    r.backend().batchnorm_update_running(r.inout("running_mean", uniform(g, 3, -1, 1)),
                                         r.inout("running_var", uniform(g, 3, 0, 2)),
                                         r.in(uniform(g, 3, -1, 1)), r.in(uniform(g, 3, 0, 2)), 0.3f, 1, 3);
  });
  const Nch big{64, 32, 784};
  t.add(
      Op::batchnorm_stats, label(big),
      [big](CaseRun& r, Rng& g) {
        const int64_t len = big.n * big.c * big.hw;
        r.backend().batchnorm_stats(r.out("mean", big.c), r.out("var", big.c), r.in(spread(g, len)), big.n,
                                    big.c, big.hw);
      },
      true);
  t.add(
      Op::batchnorm_backward, label(big),
      [big](CaseRun& r, Rng& g) {
        const int64_t len = big.n * big.c * big.hw;
        r.backend().batchnorm_backward(r.out("dx", len), r.out("dgamma", big.c), r.out("dbeta", big.c),
                                       r.in(spread(g, len)), r.in(uniform(g, len, -2, 2)),
                                       r.in(uniform(g, big.c, -1, 1)), r.in(uniform(g, big.c, 0, 2)),
                                       r.in(uniform(g, big.c, 0.5f, 1.5f)), 1e-5f, big.n, big.c, big.hw);
      },
      true);
}

void add_normalize_cases(Table& t) {
  t.add(Op::l2_normalize_forward, "rows=6 dim=37 (a zero row, a tiny row)", [](CaseRun& r, Rng& g) {
    std::vector<float> x = uniform(g, 6 * 37, -1, 1);
    for (int j = 0; j < 37; ++j) x[2 * 37 + j] = 0.0f, x[4 * 37 + j] = 1e-20f;
    r.backend().l2_normalize_forward(r.out("y", 6 * 37), r.out("norm", 6), r.in(x), 6, 37, 1e-12f);
  });
  t.add(Op::l2_normalize_forward, "rows=3 dim=512", [](CaseRun& r, Rng& g) {
    r.backend().l2_normalize_forward(r.out("y", 3 * 512), r.out("norm", 3), r.in(spread(g, 3 * 512)), 3, 512,
                                     1e-12f);
  });
  t.add(Op::l2_normalize_backward, "rows=5 dim=37 (one clamped norm)", [](CaseRun& r, Rng& g) {
    std::vector<float> norm = uniform(g, 5, 0.5f, 3);
    norm[3] = 1e-12f;
    r.backend().l2_normalize_backward(r.out("dx", 5 * 37), r.in(uniform(g, 5 * 37, -1, 1)),
                                      r.in(uniform(g, 5 * 37, -1, 1)), r.in(norm), 5, 37, 1e-12f);
  });
  t.add(Op::softmax_rows, "rows=4 cols=300 (large logits)", [](CaseRun& r, Rng& g) {
    r.backend().softmax_rows(r.out("out", 1200), r.in(uniform(g, 1200, -80, 80)), 4, 300);
  });
  t.add(Op::softmax_rows, "rows=3 cols=1", [](CaseRun& r, Rng& g) {
    r.backend().softmax_rows(r.out("out", 3), r.in(uniform(g, 3, -5, 5)), 3, 1);
  });
}

void add_optim_cases(Table& t) {
  const SgdParams sgds[] = {{0.1f, 0.0f, 0.0f, 0.0f, false, false},
                            {0.05f, 0.9f, 0.1f, 1e-4f, true, false},
                            {0.05f, 0.9f, 0.0f, 5e-4f, false, true}};
  for (const SgdParams& p : sgds) {
    char label[160];
    std::snprintf(label, sizeof label, "n=1000 lr=%g momentum=%g dampening=%g wd=%g nesterov=%d first=%d",
                  p.lr, p.momentum, p.dampening, p.weight_decay, p.nesterov, p.first_step);
    t.add(Op::sgd_update, label, [p](CaseRun& r, Rng& g) {
      float* param = r.inout("param", uniform(g, 1000, -1, 1));
      float* buf = p.momentum != 0.0f ? r.inout("momentum", uniform(g, 1000, -0.1f, 0.1f)) : nullptr;
      r.backend().sgd_update(param, buf, r.in(spread(g, 1000)), 1000, p);
    });
  }
  t.add(Op::adam_update, "n=1000 lr=1e-3 wd=5e-4 t=3", [](CaseRun& r, Rng& g) {
    const AdamParams p = kern::adam_params(1e-3, 0.9, 0.999, 1e-8, 5e-4, 3);
    std::vector<float> v = uniform(g, 1000, 0, 1e-3f);
    v[5] = 0.0f;
    r.backend().adam_update(r.inout("param", uniform(g, 1000, -1, 1)),
                            r.inout("m", uniform(g, 1000, -0.01f, 0.01f)), r.inout("v", v),
                            r.in(spread(g, 1000)), 1000, p);
  });
}

void add_dml_cases(Table& t) {
  // Similarities on a grid that hits the kinks (s = margin, s = 1 − pos_eps) and s = 1 exactly.
  auto sims = [](Rng& g, int64_t n) {
    std::vector<float> s = uniform(g, n, -1, 1);
    for (int64_t i = 0; i < n; i += 5)
      s[i] = (i / 5) % 3 == 0 ? 0.5f : (i / 5) % 3 == 1 ? 1.0f - 1e-5f : 1.0f;
    return s;
  };
  for (int masks = 0; masks < 2; ++masks) {
    const std::string m = masks ? " with row/col masks" : " no masks";
    t.add(Op::contrastive_forward, "rows=6 cols=300" + m, [masks, sims](CaseRun& r, Rng& g) {
      const int32_t* rm = masks ? r.in_i32(labels(g, 6, 2)) : nullptr;
      const int32_t* cm = masks ? r.in_i32(labels(g, 300, 2)) : nullptr;
      r.backend().contrastive_forward(r.out("row_loss", 6), r.in(sims(g, 1800)), r.in_i32(labels(g, 6, 4)),
                                      r.in_i32(labels(g, 300, 4)), rm, cm, 6, 300, 0.5f, 1e-5f);
    });
    t.add(Op::contrastive_backward, "rows=6 cols=300" + m, [masks, sims](CaseRun& r, Rng& g) {
      const int32_t* rm = masks ? r.in_i32(labels(g, 6, 2)) : nullptr;
      const int32_t* cm = masks ? r.in_i32(labels(g, 300, 2)) : nullptr;
      r.backend().contrastive_backward(r.out("dsim", 1800), r.in(sims(g, 1800)), r.in_i32(labels(g, 6, 4)),
                                       r.in_i32(labels(g, 300, 4)), rm, cm, 6, 300, 0.5f, 1e-5f, 0.25f);
    });
  }
  t.add(Op::segment_mean_rows, "rows=700 dim=5 groups=4 (one empty, one of 350 rows)",
        [](CaseRun& r, Rng& g) {
          std::vector<int32_t> order(700);
          for (int32_t i = 0; i < 700; ++i) order[i] = i;
          for (int32_t i = 699; i > 0; --i) std::swap(order[i], order[g.below(i + 1)]);
          r.backend().segment_mean_rows(r.out("out", 20), r.in(spread(g, 3500)), r.in_i32(order),
                                        r.in_i32({0, 300, 300, 650, 700}), 4, 5);
        });
  t.add(Op::copy_rows, "dst=10x7 src=6x7 count=4", [](CaseRun& r, Rng& g) {
    r.backend().copy_rows(r.inout("dst", uniform(g, 70, -1, 1)), r.in_i32({9, 0, 4, 5}),
                          r.in(uniform(g, 42, -1, 1)), r.in_i32({5, 0, 2, 2}), 4, 7);
  });
}

std::vector<KernelCase> build_cases() {
  Table t;
  add_memory_cases(t);
  add_gemm_cases(t);
  add_conv_cases(t);
  add_elementwise_cases(t);
  add_reduce_cases(t);
  add_pool_cases(t);
  add_batchnorm_cases(t);
  add_normalize_cases(t);
  add_optim_cases(t);
  add_dml_cases(t);
  return t.take();
}

}  // namespace

const std::vector<KernelCase>& kernel_cases() {
  static const std::vector<KernelCase> cases = build_cases();
  return cases;
}

}  // namespace prism::testing

// ---- checks of the table itself, on the CPU backend
// --------------------------------------------------------------

using namespace prism;
using namespace prism::testing;

TEST_CASE("kernel cases: every op of the backend interface has a case", "[emulator]") {
  std::set<int> covered;
  for (const auto& c : kernel_cases()) covered.insert(static_cast<int>(c.op));
  for (int op = 0; op < static_cast<int>(Op::count); ++op) {
    INFO("op " << op_name(static_cast<Op>(op)) << " has no case in tests/test_kernel_cases.cpp");
    CHECK(covered.count(op) == 1);
  }
}

TEST_CASE("kernel cases: the CPU writes every output element, within bounds, reproducibly", "[emulator]") {
  ScopedMode exact(Mode::exact);
  Backend& cpu = backend(DeviceType::cpu);
  for (const auto& c : kernel_cases()) {
    if (c.large) continue;
    const auto first = run_case(c, cpu), second = run_case(c, cpu);
    REQUIRE(first.size() == second.size());
    for (size_t o = 0; o < first.size(); ++o) {
      INFO(c.label << ", output " << first[o].name);
      CHECK(first[o].guard_ok);
      const int64_t d = first_difference(first[o], second[o]);
      INFO((d >= 0 ? describe_difference(first[o], second[o], d) : std::string("identical")));
      CHECK(d < 0);
      int64_t unwritten = 0;
      for (uint32_t b : first[o].bits) unwritten += b == kPoison;
      CHECK(unwritten == 0);
    }
  }
}
