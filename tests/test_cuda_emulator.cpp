// The CUDA backend's exact kernels (backends/cuda/exact/*.hpp) run on the CPU by the launch emulator and
// compared with the CPU backend bit for bit (any two NaNs equal), for every case of the kernel case table
// (tests/kernel_cases.hpp) small enough for the emulator — the check of the CUDA arithmetic that needs no
// GPU. Also: the split-k chunk-group fold, and that the emulator's shared-memory poisoning and index coverage
// work.
#include <catch2/catch.hpp>
#include <cmath>

#include "cuda/emulator.hpp"
#include "kernel_cases.hpp"
#include "kernel_runner.hpp"
#include "prism/core/runtime.hpp"

using namespace prism;
using namespace prism::testing;

namespace {

// Emulated CUDA exact vs CPU exact on the same inputs, bit for bit, both executions sound.
void check_against_cpu(Backend& emu, const Case& c, size_t index) {
  ScopedMode exact(Mode::exact);
  const Host host = make_inputs(c, index);
  const Run want = execute(c, host, backend(DeviceType::cpu), "cpu");
  const Run got = execute(c, host, emu, "emulated cuda");
  for (const Run* r : {&want, &got})
    for (const std::string& p : r->problems) FAIL_CHECK(c.describe() << " on " << r->where << ": " << p);
  const std::string d = first_difference(c, got, want);
  if (!d.empty()) FAIL_CHECK(c.describe() << ": " << got.where << " vs " << want.where << ": " << d);
}

}  // namespace

TEST_CASE("emulated CUDA exact kernels match the CPU backend bit for bit", "[emulator]") {
  cuda::emu::EmuBackend emu;
  const auto& cases = kernel_cases();
  int checked = 0;
  for (size_t idx = 0; idx < cases.size(); ++idx) {
    if (cases[idx].large) continue;
    INFO("case " << idx << ": " << cases[idx].describe());  // names the case if a kernel throws
    check_against_cpu(emu, cases[idx], idx);
    ++checked;
  }
  CHECK(checked > 400);
}

TEST_CASE("emulated CUDA split-k GEMM folds chunk groups in order", "[emulator]") {
  // A scratch cap of 2 slabs forces the chunked GEMM to fold its 5 chunks in groups of 2, 2, 1 (one group for
  // the default cap), which must not change a bit.
  const int64_t M = 9, N = 11, K = 1200;
  cuda::emu::EmuBackend small(2 * M * N);
  for (int trans = 0; trans < 4; ++trans)
    for (float alpha : {1.0f, -0.75f}) {
      const bool ta = trans & 1, tb = trans & 2;
      const Case c{Op::gemm,
                   "M=9 N=11 K=1200 chunked, 2-slab scratch, trans_a=" + std::to_string(ta) +
                       " trans_b=" + std::to_string(tb) + " alpha=" + std::to_string(alpha),
                   {fin("A", M * K), fin("B", K * N), fout("C", M * N)},
                   [](Host& h, InputRng& rng) { h.spread(0, rng); },
                   [=](Backend& be, const Ptrs& p) {
                     be.gemm(p.f(2), p.f(0), p.f(1), M, N, K, ta, tb, alpha, GemmOrder::chunked);
                   },
                   kTolSum};
      check_against_cpu(small, c, 77 + trans);
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
