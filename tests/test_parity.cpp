// The CPU parity test of every backend kernel (ggml test-backend-ops style; reference test harness), over
// the kernel case table of tests/kernel_cases.hpp. For every case small enough for the CPU, same inputs:
//   (a) CPU exact vs the plain reference loops of tests/reference_backend.hpp (the kern:: bodies, one
//       output at a time): bit for bit. This guards the blocked GEMM, the parallel chunked reductions and
//       every other CPU-specific loop;
//   (b) CPU exact with 2 threads vs 1 thread: bit for bit;
//   (c) CPU fast vs CPU exact: normalised MSE within the case's budget, i32 outputs equal;
//   (d) every execution sound: guards intact, inputs unmodified, every output written, outputs finite
//       where the inputs are (tests/kernel_runner.hpp).
// Also the checks of the table itself: every Op of the enum has a case (so an Op cannot be added without
// one), every fast-mode budget is within the design's bound. "Bit for bit" counts any two NaNs as equal
// (same_word). The GPU runs the same table in tests/test_cuda.cpp, the CUDA exact kernels under the launch
// emulator in tests/test_cuda_emulator.cpp.
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "kernel_cases.hpp"
#include "kernel_runner.hpp"
#include "prism/core/runtime.hpp"
#include "reference_backend.hpp"

using namespace prism;
using namespace prism::testing;

namespace {

void check_sound(const Case& c, const Run& run) {
  for (const std::string& p : run.problems) FAIL_CHECK(c.describe() << " on " << run.where << ": " << p);
}

void check_identical(const Case& c, const Run& got, const Run& want) {
  const std::string d = first_difference(c, got, want);
  if (!d.empty()) FAIL_CHECK(c.describe() << ": " << got.where << " vs " << want.where << ": " << d);
}

}  // namespace

TEST_CASE("parity: every Op of the backend interface has a case small enough for the CPU and the emulator",
          "[parity]") {
  std::set<int> covered;
  for (const Case& c : kernel_cases())
    if (!c.large) covered.insert(static_cast<int>(c.op));
  for (int op = 0; op < static_cast<int>(Op::count); ++op) {
    INFO("Op::" << prism::op_name(static_cast<Op>(op)) << " has no case in tests/test_kernel_cases.cpp");
    CHECK(covered.count(op) == 1);
  }
}

TEST_CASE("parity: every budget within the design's bound, every description unique", "[parity]") {
  std::set<std::string> seen;
  for (const Case& c : kernel_cases()) {
    INFO(c.describe());
    CHECK(c.fast_tol <= 1e-8);                // DESIGN §3.1: no op may be further from exact
    CHECK(seen.insert(c.describe()).second);  // a failure names its case unambiguously
  }
}

TEST_CASE("parity: CPU exact vs reference loops and 1 vs 2 threads (memcmp), fast vs exact (nMSE), guards",
          "[parity]") {
  const auto& cases = kernel_cases();
  Backend& cpu = backend(DeviceType::cpu);
  test::ReferenceBackend loops;
  int checked = 0;
  for (size_t idx = 0; idx < cases.size(); ++idx) {
    const Case& c = cases[idx];
    if (c.large) continue;
    INFO("case " << idx << ": " << c.describe());  // names the case if a kernel throws
    const Host host = make_inputs(c, idx);
    Run reference, exact1, exact2, fast;
    {
      ScopedMode mode(Mode::exact);
      reference = execute(c, host, loops, "reference loops");
      {
        ScopedThreads threads(1);
        exact1 = execute(c, host, cpu, "cpu");
      }
      ScopedThreads threads(2);
      exact2 = execute(c, host, cpu, "cpu");
    }
    {
      ScopedMode mode(Mode::fast);
      ScopedThreads threads(2);
      fast = execute(c, host, cpu, "cpu");
    }
    for (const Run* r : {&reference, &exact1, &exact2, &fast}) check_sound(c, *r);
    check_identical(c, exact1, reference);
    check_identical(c, exact2, exact1);
    const Closeness close = compare_close(c, fast, exact1, c.fast_tol);
    if (!close.problem.empty())
      FAIL_CHECK(c.describe() << ": " << fast.where << " vs " << exact1.where << ": " << close.problem);
    ++checked;
  }
  CHECK(checked > 400);
}
