// prism bench ops: SGEMM GFLOP/s (exact vs fast) and fmnist-cnn conv layer forward / forward+backward times,
// on the CPU or the GPU (--device), as a table or JSON. Both modes run through the backend interface in the
// same process, so each exact/fast ratio comes from one run on one machine.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"

namespace prism::cli {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Median-of-repeats time of f(), after one warm-up call, repeating until ~min_total seconds have passed.
template <class F>
double time_median(F&& f, double min_total = 0.5, int min_reps = 3) {
  f();
  std::vector<double> times;
  auto start = std::chrono::steady_clock::now();
  while ((int)times.size() < min_reps || seconds_since(start) < min_total) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    times.push_back(seconds_since(t0));
    if (times.size() >= 50) break;
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::vector<float> random_vector(int64_t n, uint64_t sub) {
  Rng rng = Rng(0, RngStream::test).fork(sub);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(-1, 1);
  return v;
}

// C = A·B for n×n matrices through the backend's gemm in each mode; device buffers stay resident between
// calls.
nlohmann::json bench_sgemm(DeviceType device) {
  Backend& be = backend(device);
  std::vector<int64_t> sizes = {256, 512, 1024};
  if (device == DeviceType::cuda) sizes.push_back(4096);
  nlohmann::json out;
  for (int64_t n : sizes) {
    Tensor A = Tensor::from_vector({n, n}, random_vector(n * n, 1), device);
    Tensor B = Tensor::from_vector({n, n}, random_vector(n * n, 2), device);
    Tensor C = Tensor::empty({n, n}, DType::f32, device);
    const double flops = 2.0 * n * n * n;
    auto time_mode = [&](Mode m) {
      ScopedMode mode(m);
      return time_median([&] {
        be.gemm(C.data_f32(), A.data_f32(), B.data_f32(), n, n, n, false, false, 1.0f, GemmOrder::chain);
        be.synchronize();
      });
    };
    const double te = time_mode(Mode::exact), tf = time_mode(Mode::fast);
    out[std::to_string(n)] = {
        {"exact", flops / te * 1e-9}, {"fast", flops / tf * 1e-9}, {"ratio_exact_over_fast", tf / te}};
  }
  return out;
}

// The conv layers of an fmnist-cnn (3×3, stride 1, pad 1) at batch 64: forward, and forward + backward (dx,
// dw, db) from a seed gradient of ones, in milliseconds (median).
nlohmann::json bench_conv(DeviceType device) {
  struct Layer {
    const char* name;
    int64_t c, hw, co;
  };
  const Layer layers[] = {{"conv1", 1, 28, 32}, {"conv2", 32, 14, 64}, {"conv3", 64, 7, 128}};
  const int64_t N = 64;
  nlohmann::json out;
  for (const Layer& l : layers) {
    Tensor x = Tensor::from_vector({N, l.c, l.hw, l.hw}, random_vector(N * l.c * l.hw * l.hw, 3), device);
    Tensor w = Tensor::from_vector({l.co, l.c, 3, 3}, random_vector(l.co * l.c * 9, 4), device);
    Tensor b = Tensor::from_vector({l.co}, random_vector(l.co, 5), device);
    x.set_requires_grad();
    w.set_requires_grad();
    b.set_requires_grad();
    Tensor seed = Tensor::full({N, l.co, l.hw, l.hw}, 1.0f, device);
    nlohmann::json entry;
    entry["shape"] = std::to_string(N) + "x" + std::to_string(l.c) + "x" + std::to_string(l.hw) + "x" +
                     std::to_string(l.hw) + " -> " + std::to_string(l.co) + " channels, 3x3, pad 1";
    for (Mode m : {Mode::exact, Mode::fast}) {
      ScopedMode mode(m);
      const double fwd = time_median([&] {
        NoGradGuard no_grad;
        conv2d(x, w, b, 1, 1);
        backend(device).synchronize();
      });
      const double both = time_median([&] {
        Tensor y = conv2d(x, w, b, 1, 1);
        run_backward(y, seed);
        backend(device).synchronize();
        x.zero_grad(), w.zero_grad(), b.zero_grad();
      });
      entry["forward_ms"][mode_name(m)] = fwd * 1e3;
      entry["forward_backward_ms"][mode_name(m)] = both * 1e3;
    }
    out[l.name] = entry;
  }
  return out;
}
}  // namespace

void register_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmarks (ratios are measured in the same run)");
  bench->require_subcommand(1);
  auto* ops = bench->add_subcommand("ops", "SGEMM GFLOP/s and conv layer times, exact vs fast");
  static bool json = false;
  static std::string device = "cpu";
  ops->add_flag("--json", json, "Print one JSON object on stdout");
  ops->add_option("--device", device, "cpu or cuda")->capture_default_str();
  ops->callback([] {
    const DeviceType d = parse_device(device);
    if (!device_available(d))
      throw Error("bench: device " + device + " is not available: " + device_unavailable_reason(d));
    nlohmann::json result;
    result["device"] = device_name(d);
    result["threads"] = num_threads();
    result["sgemm_gflops"] = bench_sgemm(d);
    result["conv_layers"] = bench_conv(d);
    if (json) {
      std::printf("%s\n", result.dump(2).c_str());
      return;
    }
    std::printf("SGEMM GFLOP/s on %s (%d host threads)\n%8s %10s %10s %8s\n", device_name(d), num_threads(),
                "n", "exact", "fast", "ratio");
    for (auto& [k, v] : result["sgemm_gflops"].items())
      std::printf("%8s %10.1f %10.1f %8.2f\n", k.c_str(), v["exact"].get<double>(), v["fast"].get<double>(),
                  v["ratio_exact_over_fast"].get<double>());
    std::printf("conv layers, ms (exact / fast)\n");
    for (auto& [k, v] : result["conv_layers"].items())
      std::printf("  %-6s %-40s forward %8.3f / %8.3f   forward+backward %8.3f / %8.3f\n", k.c_str(),
                  v["shape"].get<std::string>().c_str(), v["forward_ms"]["exact"].get<double>(),
                  v["forward_ms"]["fast"].get<double>(), v["forward_backward_ms"]["exact"].get<double>(),
                  v["forward_backward_ms"]["fast"].get<double>());
  });
}

}  // namespace prism::cli
