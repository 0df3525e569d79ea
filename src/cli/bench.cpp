// prism bench ops: SGEMM GFLOP/s (exact vs fast) and fmnist-cnn conv layer times (the differentiable op, and the
// backend's conv kernels alone against their FLOP-time at the GEMM rate), on the CPU or the GPU (--device), as a
// table or JSON. Both modes go through the backend interface in the same process.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/runtime_options.hpp"
#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/core/timing.hpp"

namespace prism::cli {

namespace {
Tensor random_tensor(const Shape& shape, Rng& rng, float scale, DeviceType device) {
  std::vector<float> v(shape_numel(shape));
  for (auto& x : v) x = rng.uniform(-scale, scale);
  return Tensor::from_vector(shape, v, device);
}

// C = A·B (n×n) through the backend's gemm in each mode; the operands stay resident on the device.
nlohmann::ordered_json bench_sgemm(DeviceType device) {
  Backend& be = backend(device);
  std::vector<int64_t> sizes = {256, 512, 1024};
  if (device == DeviceType::cuda) sizes.push_back(4096);
  nlohmann::ordered_json out;
  for (int64_t n : sizes) {
    Rng rng(0, RngStream::test);
    Tensor A = random_tensor({n, n}, rng, 1.0f, device), B = random_tensor({n, n}, rng, 1.0f, device);
    Tensor C = Tensor::empty({n, n}, DType::f32, device);
    const double flops = 2.0 * n * n * n;
    auto time_mode = [&](Mode m) {
      ScopedMode scoped(m);
      return adaptive_median_seconds([&] {
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

// The fmnist-cnn conv layers (3×3, stride 1, pad 1; batch 64 in both conv benchmarks).
struct ConvLayer {
  const char* name;
  int64_t c, h, co;
};
constexpr ConvLayer kFmnistConvLayers[] = {{"conv1 1->32 @28x28", 1, 28, 32},
                                           {"conv2 32->64 @14x14", 32, 14, 64},
                                           {"conv3 64->128 @7x7", 64, 7, 128}};

// Forward + backward of each fmnist-cnn conv layer at batch 64 (conv2d op: im2col + GEMM + bias, and its
// gradients w.r.t. input, weight and bias), in milliseconds, per mode.
nlohmann::ordered_json bench_conv_layers(DeviceType device) {
  nlohmann::ordered_json out;
  for (const ConvLayer& l : kFmnistConvLayers) {
    Rng rng(0, RngStream::test);
    Tensor x = random_tensor({64, l.c, l.h, l.h}, rng, 1.0f, device).set_requires_grad();
    Tensor w = random_tensor({l.co, l.c, 3, 3}, rng, 0.3f, device).set_requires_grad();
    Tensor b = random_tensor({l.co}, rng, 0.1f, device).set_requires_grad();
    nlohmann::ordered_json entry;
    double ms[2];
    for (Mode m : {Mode::exact, Mode::fast}) {
      ScopedMode scoped(m);
      ms[m == Mode::fast] = 1e3 * adaptive_median_seconds([&] {
                              x.zero_grad();
                              w.zero_grad();
                              b.zero_grad();
                              sum(conv2d(x, w, b, 1, 1)).backward();
                              backend(device).synchronize();
                            });
      entry[std::string(mode_name(m)) + "_ms"] = ms[m == Mode::fast];
    }
    entry["ratio_exact_over_fast"] = ms[0] / ms[1];
    out[l.name] = entry;
  }
  return out;
}
// The backend's conv kernels alone (Backend::conv2d_forward, conv2d_backward) of each fmnist-cnn layer at batch
// 64, per mode: forward + weight gradient (what the training step runs for the first layer, whose input needs no
// gradient) and forward + both gradients, in ms and as a multiple of their FLOP-time at this run's 1024³ GEMM
// rate of the same mode (`gemm_gflops`). Operands stay resident; no bias, no loss around them.
nlohmann::ordered_json bench_conv_kernels(DeviceType device, const nlohmann::ordered_json& gemm_gflops) {
  Backend& be = backend(device);
  nlohmann::ordered_json out;
  for (const ConvLayer& l : kFmnistConvLayers) {
    const Conv2dShape s{64, l.c, l.h, l.h, 3, 3, 1, 1};
    const int64_t P = s.oh() * s.ow(), ckk = l.c * 9;
    Rng rng(0, RngStream::test);
    Tensor x = random_tensor({64, l.c, l.h, l.h}, rng, 1.0f, device);
    Tensor w = random_tensor({l.co, l.c, 3, 3}, rng, 0.3f, device);
    Tensor dout = random_tensor({64, l.co, l.h, l.h}, rng, 1.0f, device);
    Tensor y = Tensor::empty({64, l.co, l.h, l.h}, DType::f32, device);
    Tensor dx = Tensor::empty(x.shape(), DType::f32, device),
           dw = Tensor::empty(w.shape(), DType::f32, device);
    const double gemm_flops = 2.0 * static_cast<double>(s.n * P * l.co * ckk);  // one of the three GEMMs
    nlohmann::ordered_json entry;
    for (Mode m : {Mode::exact, Mode::fast}) {
      ScopedMode scoped(m);
      const double rate = gemm_gflops["1024"][mode_name(m)].get<double>() * 1e9;
      auto time_with = [&](bool with_dx) {
        return adaptive_median_seconds([&] {
          be.conv2d_forward(y.data_f32(), x.data_f32(), w.data_f32(), s, l.co);
          be.conv2d_backward(with_dx ? dx.data_f32() : nullptr, dw.data_f32(), dout.data_f32(), x.data_f32(),
                             w.data_f32(), s, l.co);
          be.synchronize();
        });
      };
      const double fwd_dw = time_with(false), all = time_with(true);
      entry[mode_name(m)] = {{"forward_dw_ms", 1e3 * fwd_dw},
                             {"forward_dw_flop_times", fwd_dw / (2 * gemm_flops / rate)},
                             {"forward_dw_dx_ms", 1e3 * all},
                             {"forward_dw_dx_flop_times", all / (3 * gemm_flops / rate)}};
    }
    out[l.name] = entry;
  }
  return out;
}
}  // namespace

void register_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmarks (ratios are measured in the same run)");
  bench->require_subcommand(1);
  register_bench_dml(bench);
  register_bench_train(bench);
  register_bench_resnet(bench);
  register_bench_data(bench);
  auto* ops = bench->add_subcommand("ops", "SGEMM GFLOP/s and conv layer times, exact vs fast");
  static bool json = false;
  static std::string device = "cpu";
  ops->add_flag("--json", json, "Print one JSON object on stdout");
  ops->add_option("--device", device, "cpu or cuda")->capture_default_str()->check(device_choices());
  ops->callback([] {
    const DeviceType d = parse_device(device);
    if (!device_available(d))
      throw Error("bench: device " + device + " is not available: " + device_unavailable_reason(d));
    nlohmann::ordered_json result;
    result["device"] = device_name(d);
    result["threads"] = num_threads();
    result["sgemm_gflops"] = bench_sgemm(d);
    result["conv_forward_backward_batch64"] = bench_conv_layers(d);
    result["conv_kernels_batch64"] = bench_conv_kernels(d, result["sgemm_gflops"]);
    if (json) {
      std::printf("%s\n", result.dump(2).c_str());
    } else {
      std::printf("SGEMM GFLOP/s on %s (%d host threads)\n%8s %10s %10s %8s\n", device_name(d), num_threads(),
                  "n", "exact", "fast", "ratio");
      for (auto& [k, v] : result["sgemm_gflops"].items())
        std::printf("%8s %10.1f %10.1f %8.2f\n", k.c_str(), v["exact"].get<double>(), v["fast"].get<double>(),
                    v["ratio_exact_over_fast"].get<double>());
      std::printf("\nconv2d forward+backward, batch 64 (ms)\n%-22s %10s %10s %8s\n", "layer", "exact", "fast",
                  "ratio");
      for (auto& [k, v] : result["conv_forward_backward_batch64"].items())
        std::printf("%-22s %10.2f %10.2f %8.2f\n", k.c_str(), v["exact_ms"].get<double>(),
                    v["fast_ms"].get<double>(), v["ratio_exact_over_fast"].get<double>());
      std::printf(
          "\nconv kernels alone (Backend::conv2d_forward + conv2d_backward), batch 64: ms, and x their "
          "FLOP-time at "
          "the 1024^3 GEMM rate above\n%-22s %6s %22s %22s\n",
          "layer", "mode", "forward + dw", "forward + dw + dx");
      for (auto& [k, v] : result["conv_kernels_batch64"].items())
        for (const char* m : {"exact", "fast"})
          std::printf("%-22s %6s %12.3f (%5.2fx) %12.3f (%5.2fx)\n", k.c_str(), m,
                      v[m]["forward_dw_ms"].get<double>(), v[m]["forward_dw_flop_times"].get<double>(),
                      v[m]["forward_dw_dx_ms"].get<double>(), v[m]["forward_dw_dx_flop_times"].get<double>());
    }
  });
}

}  // namespace prism::cli
