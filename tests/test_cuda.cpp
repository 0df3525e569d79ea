// GPU tests of the CUDA backend, tagged [.cuda]: hidden from a plain run and from the discovered CTest
// entries; the CTest entry prism:cuda runs them and reports SKIPPED (exit 77, see tests/catch_main.cpp) where
// no GPU is usable. Every case of the kernel case table (tests/kernel_cases.hpp), the large ones included:
// exact mode bit for bit against the CPU backend's exact result (any two NaNs equal), fast mode within the
// case's budget — and bit for bit for the ops whose CUDA fast path is the exact kernel. Lines starting with
// CUDA-EXACT / CUDA-FAST are read by tests/gpu/run_device_checks.sh (tests/gpu/summarize.py) for its summary
// table.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "data_fixtures.hpp"
#include "kernel_cases.hpp"
#include "kernel_runner.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"

using namespace prism;
using namespace prism::testing;

namespace {

Backend& gpu() {
  if (!device_available(DeviceType::cuda))
    FAIL("no CUDA device: " << device_unavailable_reason(DeviceType::cuda));
  return backend(DeviceType::cuda);
}

// The ops whose CUDA fast mode reorders (DESIGN §3.4): GEMM (cuBLAS), exp/log (expf/logf), the reductions
// and the batch-norm sums.
// Every other op runs the exact kernel in fast mode too, so it must match bit for bit.
bool cuda_fast_reorders(Op op) {
  switch (op) {
    case Op::gemm:
    case Op::unary_forward:
    case Op::reduce_sum:
    case Op::reduce_mid:
    case Op::reduce_inner:
    case Op::batchnorm_stats:
    case Op::batchnorm_backward:
      return true;
    default:
      return false;
  }
}

// The CPU's exact result of every case, computed once for both GPU tests.
const std::vector<Run>& cpu_exact_runs() {
  static const std::vector<Run> runs = [] {
    ScopedMode exact(Mode::exact);
    std::vector<Run> r;
    const auto& cases = kernel_cases();
    for (size_t idx = 0; idx < cases.size(); ++idx) {
      r.push_back(execute(cases[idx], make_inputs(cases[idx], idx), backend(DeviceType::cpu), "cpu"));
      for (size_t k = 0; k < cases[idx].args.size(); ++k)  // only outputs are compared; inputs can be large
        if (cases[idx].args[k].role == Role::in) r.back().words[k] = {};
    }
    return r;
  }();
  return runs;
}

// Everything wrong with a comparison: the two executions' own problems, then the comparison's; empty when
// sound.
std::string why_not(const Run& got, const Run& want, const std::string& comparison) {
  std::string s;
  auto add = [&](const std::string& what) { s += (s.empty() ? "" : "; ") + what; };
  for (const Run* r : {&want, &got})
    for (const std::string& p : r->problems) add(r->where + ": " + p);
  if (!comparison.empty()) add(comparison);
  return s;
}

struct Tally {
  int passed = 0, total = 0;
};

}  // namespace

TEST_CASE("CUDA exact kernels match the CPU backend bit for bit", "[.cuda]") {
  Backend& cuda = gpu();
  const auto& cases = kernel_cases();
  const auto& ref = cpu_exact_runs();
  ScopedMode exact(Mode::exact);
  std::map<std::string, Tally> per_op;
  int passed = 0, total = 0;
  for (size_t idx = 0; idx < cases.size(); ++idx) {
    const Case& c = cases[idx];
    const Run got = execute(c, make_inputs(c, idx), cuda, "cuda");
    const std::string d = first_difference(c, got, ref[idx]);
    const std::string why = why_not(got, ref[idx], d.empty() ? d : d + " (cuda vs cpu)");
    const bool ok = why.empty();
    if (!ok) {
      FAIL_CHECK(c.describe() << ": " << why);
      std::printf("CUDA-EXACT FAIL %s: %s\n", c.describe().c_str(), why.c_str());
    }
    Tally& t = per_op[std::string(op_name(c.op))];
    t.total++, total++;
    if (ok) t.passed++, passed++;
  }
  int ops_ok = 0;
  for (auto& [op, t] : per_op) {
    std::printf("CUDA-EXACT op %-26s %3d/%3d cases bit-identical\n", op.c_str(), t.passed, t.total);
    ops_ok += t.passed == t.total;
  }
  std::printf("CUDA-EXACT summary: %d/%zu ops, %d/%d cases bit-identical to the CPU\n", ops_ok, per_op.size(),
              passed, total);
  std::fflush(stdout);
}

TEST_CASE("CUDA fast kernels agree with the CPU exact reference within tolerance", "[.cuda]") {
  Backend& cuda = gpu();
  const auto& cases = kernel_cases();
  const auto& ref = cpu_exact_runs();
  ScopedMode fast(Mode::fast);
  struct Worst {
    double nmse = 0, ratio = 0;  // largest nMSE, and largest nMSE / budget among the budgeted cases
  };
  std::map<std::string, Worst> worst;
  int passed = 0, total = 0;
  for (size_t idx = 0; idx < cases.size(); ++idx) {
    const Case& c = cases[idx];
    const Run got = execute(c, make_inputs(c, idx), cuda, "cuda");
    const double tol = cuda_fast_reorders(c.op) ? c.fast_tol : 0.0;
    const Closeness close = compare_close(c, got, ref[idx], tol);
    const std::string why = why_not(got, ref[idx], close.problem);
    const bool ok = why.empty();
    if (!ok) {
      FAIL_CHECK(c.describe() << ": cuda fast vs cpu exact: " << why);
      std::printf("CUDA-FAST FAIL %s: %s\n", c.describe().c_str(), why.c_str());
    }
    Worst& w = worst[std::string(op_name(c.op))];
    w.nmse = std::max(w.nmse, close.worst_nmse);
    if (tol > 0) w.ratio = std::max(w.ratio, close.worst_nmse / tol);
    total++, passed += ok;
  }
  for (auto& [op, w] : worst)
    std::printf("CUDA-FAST op %-26s worst nmse %.3g (%.3g of its case's budget)\n", op.c_str(), w.nmse,
                w.ratio);
  std::printf("CUDA-FAST summary: %d/%d cases within tolerance\n", passed, total);
  std::fflush(stdout);
}

TEST_CASE("CUDA allocator reuses freed blocks and names a failed cudaMalloc", "[.cuda]") {
  Backend& cuda = gpu();
  void* p = cuda.alloc(1000);
  cuda.dealloc(p, 1000);
  void* q = cuda.alloc(900);  // same 512-byte size class: the cached block comes back
  CHECK(q == p);
  cuda.dealloc(q, 900);
  CHECK_THROWS_WITH(cuda.alloc(size_t(1) << 50),
                    Catch::Contains("cudaMalloc") && Catch::Contains("tensor allocation"));
  // The backend still works after the failed allocation.
  Tensor t = Tensor::from_vector({3}, {1, 2, 3}, DeviceType::cuda);
  CHECK(t.to_vector() == std::vector<float>{1, 2, 3});
}

TEST_CASE("CUDA tensors: a conv net's forward and backward are bit-identical to the CPU", "[.cuda]") {
  gpu();
  ScopedMode exact(Mode::exact);
  Rng rng(5, RngStream::test);
  auto rand = [&](const Shape& s, float scale) {
    std::vector<float> v(shape_numel(s));
    for (auto& x : v) x = rng.uniform(-scale, scale);
    return v;
  };
  const auto x0 = rand({6, 3, 12, 12}, 1), w0 = rand({8, 3, 3, 3}, 0.5f), b0 = rand({8}, 0.1f),
             lw0 = rand({5, 8}, 0.5f), lb0 = rand({5}, 0.1f);
  struct Result {
    std::vector<std::vector<float>> values;
  };
  auto run = [&](DeviceType d) {
    Tensor x = Tensor::from_vector({6, 3, 12, 12}, x0, d).set_requires_grad();
    Tensor w = Tensor::from_vector({8, 3, 3, 3}, w0, d).set_requires_grad();
    Tensor b = Tensor::from_vector({8}, b0, d).set_requires_grad();
    Tensor gamma = Tensor::full({8}, 1.0f, d).set_requires_grad(), beta = Tensor::zeros({8}, DType::f32, d);
    beta.set_requires_grad();
    Tensor rm = Tensor::zeros({8}, DType::f32, d), rv = Tensor::full({8}, 1.0f, d);
    Tensor lw = Tensor::from_vector({5, 8}, lw0, d).set_requires_grad();
    Tensor lb = Tensor::from_vector({5}, lb0, d).set_requires_grad();
    Tensor h = relu(batch_norm(conv2d(x, w, b, 1, 1), gamma, beta, rm, rv, true, 0.1f, 1e-5f));
    Tensor e = l2_normalize(linear(global_avg_pool(max_pool2d(h, 2, 2)), lw, lb));
    Tensor loss = mean(square(gram(e)));
    loss.backward();
    Result r;
    for (const Tensor& t :
         {loss, e, x.grad(), w.grad(), b.grad(), gamma.grad(), beta.grad(), lw.grad(), lb.grad(), rm, rv})
      r.values.push_back(t.to_vector());
    return r;
  };
  const Result cpu = run(DeviceType::cpu), cuda = run(DeviceType::cuda);
  const char* names[] = {"loss",  "embeddings", "dx",        "dw",           "db",         "dgamma",
                         "dbeta", "dlinear_w",  "dlinear_b", "running_mean", "running_var"};
  for (size_t i = 0; i < cpu.values.size(); ++i) {
    INFO(names[i]);
    CHECK(std::memcmp(cpu.values[i].data(), cuda.values[i].data(), cpu.values[i].size() * 4) == 0);
  }
}

// The trainer's own step (prism check runs TrainingRun::step) on the default config; PRISM_FASHION_MNIST
// points at the data where it is not installed system-wide (the device script unpacks it from .debs).
TEST_CASE("prism check: 50 exact training steps on CPU and CUDA agree bit for bit", "[.cuda]") {
  gpu();
  const char* root = std::getenv("PRISM_FASHION_MNIST");
  const std::string cmd = std::string(PRISM_BINARY_PATH) +
                          " check --method prism --steps 50 --set DATA.ROOT=" +
                          (root && *root ? root : "/usr/share/datasets/fashion-mnist") + " > /dev/null 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
}

// The pretrained-backbone networks through the trainer's own step, CPU against GPU, exact mode: 3 PRISM steps on
// a generated 8-class CUB-layout folder at a 32-pixel crop (the flags docs/nn.md gives; the emulator runs the
// resnet18 case in CI, tests/test_resnet_import.cpp). The whole state after each step must match bit for bit.
TEST_CASE("prism check: resnet18, resnet50 and bninception on CPU and CUDA agree bit for bit", "[.cuda]") {
  gpu();
  const auto [model, tensors] =
      GENERATE(std::pair<std::string, int>{"resnet18", 236}, std::pair<std::string, int>{"resnet50", 599},
               std::pair<std::string, int>{"bninception", 982});
  CAPTURE(model);
  TempDir dir;
  write_cub_folder(dir.path, 8, 4);
  write_bytes(dir / "empty.yaml", "NAME: resnet-check\n");
  const std::string json = dir / "check.json", log = dir / "check.log";
  const std::string cmd =
      std::string(PRISM_BINARY_PATH) + " check --config " + (dir / "empty.yaml") +
      " --set DATA.DATASET=cub --set DATA.ROOT=" + dir.path.string() +
      " --set DATA.SPLIT=open --set MODEL.NAME=" + model +
      " --set MODEL.HEAD.DIM=8 --set INPUT.ORIGIN_SIZE=36 --set INPUT.CROP_SIZE=32 --set "
      "DATA.TRAIN_BATCHSIZE=8"
      " --set DATA.NUM_INSTANCES=2 --set DATA.TEST_BATCHSIZE=8 --set XBM.SIZE=16 --set DATA.PREFETCH=false"
      " --method prism --steps 3 --target cuda --json > " +
      json + " 2> " + log;
  const int code = std::system(cmd.c_str());
  const std::string out = read_bytes(json);
  INFO(out << read_bytes(log));
  const auto j = nlohmann::json::parse(out, nullptr, false);
  REQUIRE(!j.is_discarded());  // exit 2 (no GPU) or a crash: the log above says which
  // Read by tests/gpu/summarize.py.
  std::printf("CUDA-CHECK %s: %s, %d tensors/step, %d steps%s\n", model.c_str(),
              j["result"].get<std::string>().c_str(), j["tensors_per_step"].get<int>(), j["steps"].get<int>(),
              j.contains("first_mismatch") ? (", first mismatch " + j["first_mismatch"].dump()).c_str() : "");
  REQUIRE(code == 0);
  CHECK(j["result"] == "match");
  CHECK(j["tensors_per_step"] == tensors);
}
