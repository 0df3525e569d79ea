// The CUDA backend's exact kernels (backends/cuda/exact/*.hpp) run on the CPU by the launch emulator and
// compared with the CPU backend bit for bit, for every kernel case — the check of the CUDA arithmetic that
// needs no GPU.
#include <catch2/catch.hpp>
#include <cmath>

#include "cuda/emulator.hpp"
#include "kernel_cases.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"

using namespace prism;
using namespace prism::testing;

namespace {

void check_against_cpu(Backend& target, const KernelCase& c) {
  ScopedMode exact(Mode::exact);
  const auto ref = run_case(c, backend(DeviceType::cpu));
  const auto got = run_case(c, target);
  REQUIRE(ref.size() == got.size());
  for (size_t o = 0; o < ref.size(); ++o) {
    INFO(c.label << ", output " << got[o].name << " (emulated CUDA exact vs CPU exact)");
    CHECK(got[o].guard_ok);
    const int64_t d = first_difference(got[o], ref[o]);
    INFO((d >= 0 ? "first difference: " + describe_difference(got[o], ref[o], d) : std::string("identical")));
    CHECK(d < 0);
  }
}

}  // namespace

TEST_CASE("emulated CUDA exact kernels match the CPU backend bit for bit", "[emulator]") {
  cuda::emu::EmuBackend emu;
  int checked = 0;
  for (const auto& c : kernel_cases()) {
    if (c.large) continue;
    check_against_cpu(emu, c);
    ++checked;
  }
  CHECK(checked > 100);
}

TEST_CASE("emulated CUDA split-k GEMM folds chunk groups in order", "[emulator]") {
  // A scratch cap of 2 slabs forces the chunked GEMM to fold its 5 chunks in groups of 2, 2, 1 (one group for
  // the default cap), which must not change a bit.
  const int64_t M = 9, N = 11, K = 1200;
  cuda::emu::EmuBackend small(2 * M * N);
  for (int trans = 0; trans < 4; ++trans)
    for (float alpha : {1.0f, -0.75f}) {
      KernelCase c{Op::gemm, "gemm M=9 N=11 K=1200 chunked, 2-slab scratch, trans=" + std::to_string(trans),
                   false, [&](CaseRun& r) {
                     Rng g(77 + trans, RngStream::test);
                     std::vector<float> a(M * K), b(K * N);
                     for (auto& v : a) v = g.uniform(-1, 1) * std::ldexp(1.0f, int(g.below(20)) - 10);
                     for (auto& v : b) v = g.uniform(-1, 1);
                     r.backend().gemm(r.out("C", M * N), r.in(a), r.in(b), M, N, K, trans & 1, trans & 2,
                                      alpha, GemmOrder::chunked);
                   }};
      check_against_cpu(small, c);
    }
}

namespace {
// A deliberately wrong phased kernel: thread 0 reads shared memory that no thread loaded. The emulator must
// make that visible (NaN), or its phase emulation proves nothing.
struct ReadsUnloadedShared {
  static constexpr int kThreads = 32;
  struct Shared {
    float v[64];
  };
  struct Regs {
    float x;
  };
  float* out;
  int64_t steps(const cuda::ThreadIdx&) const { return 1; }
  void begin(Regs& r, const cuda::ThreadIdx&) const { r.x = 0.0f; }
  void load(Shared& sh, const cuda::ThreadIdx& t, int64_t) const {
    sh.v[t.tx] = 1.0f;
  }  // loads v[0..31] only
  void compute(Regs& r, const Shared& sh, const cuda::ThreadIdx& t, int64_t) const { r.x = sh.v[t.tx + 32]; }
  void end(const Regs& r, const cuda::ThreadIdx& t) const { out[t.tx] = r.x; }
};
}  // namespace

TEST_CASE("the launch emulator poisons shared memory between blocks", "[emulator]") {
  std::vector<float> out(32, 0.0f);
  cuda::emu::Launcher launch;
  launch.phased(cuda::Grid{2, 1, 1}, ReadsUnloadedShared{out.data()}, "reads unloaded shared");
  for (float v : out) CHECK(std::isnan(v));
}

TEST_CASE("the launch emulator covers every index of an each-launch exactly once", "[emulator]") {
  for (int64_t n :
       {int64_t(1), int64_t(255), int64_t(257), int64_t(cuda::kEachMaxBlocks) * cuda::kEachThreads + 3}) {
    std::vector<uint8_t> hits(n, 0);
    cuda::emu::Launcher launch;
    launch.each(
        n, [&](int64_t i) { ++hits[i]; }, "count");
    int64_t wrong = 0;
    for (uint8_t h : hits) wrong += h != 1;
    INFO("n = " << n);
    CHECK(wrong == 0);
  }
}
