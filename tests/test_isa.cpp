// Tests of the runtime ISA dispatch (backends/cpu/isa.hpp): each kernel variant this CPU supports is forced in
// turn — AVX-512 only runs where the CPU has it — and must give bit-identical exact-mode results: its fma
// against std::fma on random and edge inputs (the baseline's round-to-odd emulation included), the exact
// GEMM against the std::fma triple loop, the whole kernel case table against the reference loops, and a
// few exact training steps against a committed hash (tests/data/exact_step_hash.txt), which a
// -DPRISM_NATIVE=OFF build must match as well. PRISM_ISA's refusals are checked too.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/isa.hpp"
#include "kernel_runner.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/kernels/gemm.hpp"
#include "prism/kernels/pool.hpp"
#include "prism/train/data_setup.hpp"
#include "prism/train/run.hpp"
#include "reference_backend.hpp"

using namespace prism;

namespace {

// Restores the variant chosen at start-up when a test that forces others ends.
struct ScopedIsa {
  explicit ScopedIsa(cpu::Isa isa) : saved_(cpu::active_isa()) { cpu::set_isa(isa); }
  ~ScopedIsa() { cpu::set_isa(saved_); }
  ScopedIsa(const ScopedIsa&) = delete;
  ScopedIsa& operator=(const ScopedIsa&) = delete;

 private:
  cpu::Isa saved_;
};

bool same_float(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b));
}

// fma operands that stress rounding: random words of every exponent, products that nearly cancel c (the
// case round-to-odd exists for), ties, subnormals, signed zeros, infinities, NaN, the largest floats.
void fma_inputs(std::vector<float>& a, std::vector<float>& b, std::vector<float>& c) {
  Rng rng(7, RngStream::test);
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {0.0f,          -0.0f,          1.0f,   -1.0f,         inf,
                            -inf,          std::nanf(""),  1e-45f, -1e-45f,       1.17549435e-38f,
                            3.4028235e38f, -3.4028235e38f, 0.5f,   1.5f,          16777216.0f,
                            16777217.0f,   1e-20f,         1e20f,  5.9604645e-08f};
  for (float x : specials)
    for (float y : specials)
      for (float z : specials) a.push_back(x), b.push_back(y), c.push_back(z);
  auto random_word = [&] { return kern::bits_float(rng.next_u32()); };
  auto near_one = [&] { return 1.0f + rng.uniform(-1.0f, 1.0f) * 1e-3f; };
  for (int i = 0; i < 200000; ++i) {
    float x, y, z;
    switch (i % 5) {
      case 0:  // any words
        x = random_word(), y = random_word(), z = random_word();
        break;
      case 1:  // c ≈ −a·b: heavy cancellation, the exact error of the product decides the result
        x = rng.uniform(-4.0f, 4.0f), y = rng.uniform(-4.0f, 4.0f), z = -(x * y);
        break;
      case 2:  // c ≈ −a·b ± an ulp
        x = near_one(), y = near_one(), z = std::nextafter(-(x * y), (i & 8) ? inf : -inf);
        break;
      case 3:  // tiny results: subnormal products and sums
        x = rng.uniform(-1.0f, 1.0f) * 1e-20f, y = rng.uniform(-1.0f, 1.0f) * 1e-19f,
        z = rng.uniform(-1.0f, 1.0f) * 1e-38f;
        break;
      default:  // ordinary magnitudes, like a GEMM's
        x = rng.uniform(-1.0f, 1.0f), y = rng.uniform(-1.0f, 1.0f), z = rng.uniform(-8.0f, 8.0f);
    }
    a.push_back(x), b.push_back(y), c.push_back(z);
  }
}

std::vector<float> random_vec(int64_t n, uint64_t seed) {
  Rng rng(seed, RngStream::test);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

// The bytes of a host tensor (f32 or i32 words).
const void* host_words(const Tensor& t) {
  return t.dtype() == DType::f32 ? static_cast<const void*>(t.data_f32())
                                 : static_cast<const void*>(t.data_i32());
}

// FNV-1a over every state tensor's name and bits, in state_tensors() order.
uint64_t hash_state(const TrainingRun& run) {
  uint64_t h = 1469598103934665603ull;
  auto add = [&h](const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  for (const auto& [name, t] : run.state_tensors()) {
    add(name.data(), name.size());
    if (t.numel() == 0) continue;
    const Tensor host = t.to(DeviceType::cpu);
    add(host_words(host), static_cast<size_t>(host.numel()) * 4);
  }
  return h;
}

const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

// A small fmnist-cnn run with the memory loss on from the first step (the bench's step, smaller).
Config hash_config() {
  Config c;
  c.seed = 3;
  c.model.head_dim = 16;
  c.solver.base_lr = 2e-3;
  c.solver.max_iters = 10;
  c.xbm.size = 64;
  c.xbm.start_iteration = 0;
  c.noise.method = "prism";
  c.noise.type = "symmetric";
  c.noise.noise_rate = 0.3;
  c.noise.window_size = 3;
  c.data.root = kFashionMnist;
  c.data.train_batchsize = 16;
  c.data.num_instances = 4;
  c.data.train_per_class = 20;
  c.data.test_per_class = 2;
  c.data.prefetch = false;
  c.run.mode = "exact";
  return c;
}

}  // namespace

TEST_CASE("isa: the variants this CPU runs, and PRISM_ISA's refusals", "[isa]") {
  const std::vector<cpu::Isa> all = cpu::supported_isas();
  REQUIRE(!all.empty());
  CHECK(all.front() == cpu::Isa::baseline);
  CHECK(cpu::isa_supported(cpu::active_isa()));
  CHECK_THROWS_WITH(cpu::parse_isa("sse9"), Catch::Contains("PRISM_ISA"));
  CHECK(cpu::parse_isa("avx2") == cpu::Isa::avx2);
  for (cpu::Isa isa : {cpu::Isa::avx2, cpu::Isa::avx512})
    if (!cpu::isa_supported(isa)) CHECK_THROWS_WITH(cpu::set_isa(isa), Catch::Contains("not supported"));
  CHECK_THAT(cpu::isa_description(), Catch::StartsWith(cpu::isa_kernels().name));
}

TEST_CASE("isa: every variant's fma is std::fma, bit for bit, on random and edge inputs", "[isa]") {
  std::vector<float> a, b, c;
  fma_inputs(a, b, c);
  const int64_t n = static_cast<int64_t>(a.size());
  for (cpu::Isa isa : cpu::supported_isas()) {
    ScopedIsa forced(isa);
    std::vector<float> got(a.size()), tap(c);
    cpu::isa_kernels().fma_arrays(got.data(), a.data(), b.data(), c.data(), n);
    int64_t bad = -1;
    for (int64_t i = 0; i < n && bad < 0; ++i)
      if (!same_float(got[i], std::fma(a[i], b[i], c[i]))) bad = i;
    if (bad >= 0)
      FAIL(cpu::isa_name(isa) << " fma(" << a[bad] << ", " << b[bad] << ", " << c[bad] << ") = " << got[bad]
                              << " (bits " << std::hex << kern::float_bits(got[bad]) << "), std::fma gives "
                              << std::fma(a[bad], b[bad], c[bad]) << " (bits "
                              << kern::float_bits(std::fma(a[bad], b[bad], c[bad])) << ") at input "
                              << std::dec << bad);
    // The direct-convolution tap (acc = fma(w, x, acc)) with one weight across a row.
    for (int64_t i = 0; i < n; i += 37) {
      const int64_t len = std::min<int64_t>(37, n - i);
      std::vector<float> acc(c.begin() + i, c.begin() + i + len);
      cpu::isa_kernels().axpy_fma(acc.data(), a[i], b.data() + i, len);
      for (int64_t j = 0; j < len; ++j)
        if (!same_float(acc[j], std::fma(a[i], b[i + j], c[i + j])))
          FAIL(cpu::isa_name(isa) << " axpy_fma element " << i + j << " differs from std::fma");
    }
  }
}

TEST_CASE("isa: the exact GEMM is bit-identical to the std::fma triple loop in every variant",
          "[isa][gemm]") {
  struct Shape {
    int64_t M, N, K;
  };
  const Shape shapes[] = {{1, 1, 1},    {7, 13, 5},   {37, 29, 300}, {9, 33, 257}, {13, 31, 513},
                          {97, 65, 77}, {200, 3, 40}, {2, 4100, 19}, {50, 9, 32},  {32, 9, 900}};
  for (cpu::Isa isa : cpu::supported_isas()) {
    ScopedIsa forced(isa);
    for (const Shape& s : shapes)
      for (bool ta : {false, true})
        for (bool tb : {false, true})
          for (GemmOrder order : {GemmOrder::chain, GemmOrder::chunked}) {
            const auto A = random_vec(s.M * s.K, 1), B = random_vec(s.K * s.N, 2);
            std::vector<float> want(s.M * s.N), got(s.M * s.N, -7.0f);
            kern::gemm_reference(want.data(), A.data(), B.data(), s.M, s.N, s.K, ta, tb, 0.5f, order);
            cpu::gemm_exact(got.data(), A.data(), B.data(), s.M, s.N, s.K, ta, tb, 0.5f, order, 2);
            for (int64_t i = 0; i < s.M * s.N; ++i)
              if (!same_float(got[i], want[i]))
                FAIL(cpu::isa_name(isa)
                     << " gemm M=" << s.M << " N=" << s.N << " K=" << s.K << " trans_a=" << ta
                     << " trans_b=" << tb << " order=" << (order == GemmOrder::chain ? "chain" : "chunked")
                     << ": first differing C[" << i / s.N << ", " << i % s.N << "] = " << got[i]
                     << ", reference " << want[i]);
          }
  }
}

TEST_CASE("isa: the kernel case table in exact mode is bit-identical to the reference loops in every variant",
          "[isa][parity]") {
  using namespace prism::testing;
  const auto& cases = kernel_cases();
  Backend& cpu_backend = backend(DeviceType::cpu);
  test::ReferenceBackend loops;
  ScopedMode mode(Mode::exact);
  for (cpu::Isa isa : cpu::supported_isas()) {
    ScopedIsa forced(isa);
    int checked = 0;
    for (size_t idx = 0; idx < cases.size(); ++idx) {
      const Case& c = cases[idx];
      if (c.large) continue;
      INFO(cpu::isa_name(isa) << ", case " << idx << ": " << c.describe());
      const Host host = make_inputs(c, idx);
      const Run reference = execute(c, host, loops, "reference loops");
      const Run got = execute(c, host, cpu_backend, std::string("cpu/") + cpu::isa_name(isa));
      const std::string diff = first_difference(c, got, reference);
      if (!diff.empty()) FAIL_CHECK(c.describe() << " [" << cpu::isa_name(isa) << "]: " << diff);
      ++checked;
    }
    CHECK(checked > 400);
  }
}

TEST_CASE("isa: three exact training steps hash to the committed value in every variant and build",
          "[isa][train]") {
  if (!std::filesystem::exists(std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz"))
    FAIL("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
  std::ifstream f(std::string(PRISM_TEST_DATA_DIR) + "/exact_step_hash.txt");
  std::string want;
  REQUIRE(std::getline(f, want));
  ScopedMode exact(Mode::exact);
  const Config c = hash_config();
  const DataSetup data = open_datasets(c);
  for (cpu::Isa isa : cpu::supported_isas()) {
    ScopedIsa forced(isa);
    for (int threads : {1, 2}) {
      ScopedThreads scoped(threads);
      TrainingRun run(c, data.train, DeviceType::cpu);
      for (int64_t it = 0; it < 3; ++it) run.step(run.load_batch(it));
      std::ostringstream got;
      got << std::hex << hash_state(run);
      INFO("ISA " << cpu::isa_name(isa) << ", " << threads
                  << " threads: the exact state after 3 steps changed (tests/data/exact_step_hash.txt)");
      CHECK(got.str() == want);
    }
  }
}

TEST_CASE("isa: max pooling with ties and NaN equals the reference body in every variant", "[isa][pool]") {
  cpu::CpuBackend be;
  // 2×2 / 2 (the fmnist net's, its own kernel) and any other window (the row kernel): the ResNet stem's 3×3 / 2
  // with padding 1 at widths that leave vector tails, ceil mode (BN-Inception), a 3×3 / 1 window, and 2×2 / 2
  // with padding.
  const Pool2dShape shapes[] = {{2, 3, 8, 8, 2, 2, 0},   {1, 2, 9, 41, 2, 2, 0},
                                {3, 2, 28, 28, 2, 2, 0}, {1, 1, 7, 7, 2, 2, 0},
                                {1, 1, 2, 70, 2, 2, 0},  {2, 3, 12, 12, 3, 2, 1},
                                {1, 2, 9, 45, 3, 2, 1},  {1, 2, 14, 37, 3, 2, 0, true},
                                {1, 1, 11, 23, 3, 1, 1}, {1, 2, 6, 19, 2, 2, 1}};
  for (cpu::Isa isa : cpu::supported_isas()) {
    ScopedIsa forced(isa);
    for (const Pool2dShape& s : shapes) {
      const int64_t in_n = s.n * s.c * s.h * s.w, out_n = s.n * s.c * s.oh() * s.ow();
      Rng rng(11, RngStream::test);
      std::vector<float> in(in_n);
      for (auto& v : in) v = static_cast<float>(rng.below(5)) - 2.0f;  // a coarse grid: windows hold ties
      for (int64_t i = 5; i < in_n; i += 37) in[i] = std::nanf("");    // NaN wins over numbers, not over NaN
      std::vector<float> out(out_n), want(out_n);
      std::vector<int32_t> arg(out_n), want_arg(out_n);
      be.maxpool2d_forward(out.data(), arg.data(), in.data(), s);
      for (int64_t o = 0; o < out_n; ++o) want[o] = kern::maxpool2d_one(in.data(), s, o, &want_arg[o]);
      for (int64_t o = 0; o < out_n; ++o)
        if (!same_float(out[o], want[o]) || arg[o] != want_arg[o])
          FAIL(cpu::isa_name(isa) << " maxpool2d_forward N" << s.n << " C" << s.c << " " << s.h << "x" << s.w
                                  << " k" << s.k << " s" << s.stride << " p" << s.pad
                                  << (s.ceil ? " ceil" : "") << ": first differing output " << o << " = "
                                  << out[o] << " (argmax " << arg[o] << "), reference " << want[o]
                                  << " (argmax " << want_arg[o] << ")");
    }
  }
}
