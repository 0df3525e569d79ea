// prism bench ops: SGEMM GFLOP/s (exact vs fast) and fmnist-cnn conv layer times against their FLOP-time at the
// GEMM rate (the differentiable op, and the backend's conv kernels alone), with what conv1's output costs from
// memory, on the CPU or the GPU (--device), as a table or JSON. Both modes go through the backend interface in the
// same process.
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

// The conv2d op (autograd: the backend's kernels, the bias, the tape and the tensors it allocates) of each
// fmnist-cnn layer at batch 64, forward and backward, per mode, in ms and as a multiple of its FLOP-time at this
// run's 1024³ GEMM rate of the same mode. Three ways: from a given output gradient with no bias and an input
// that needs no gradient ("forward_dw": the first layer of fmnist-cnn as the training step runs it; two GEMMs'
// FLOPs); from a given output gradient with a bias and every gradient ("all": three GEMMs' FLOPs); and as issue
// 14 first measured it, sum(conv2d(x, w, b)).backward() (the same three gradients plus the sum and the ones it
// broadcasts back: "all_sum_loss").
nlohmann::ordered_json bench_conv_layers(DeviceType device, const nlohmann::ordered_json& gemm_gflops) {
  nlohmann::ordered_json out;
  for (const ConvLayer& l : kFmnistConvLayers) {
    Rng rng(0, RngStream::test);
    Tensor x = random_tensor({64, l.c, l.h, l.h}, rng, 1.0f, device).set_requires_grad();
    Tensor w = random_tensor({l.co, l.c, 3, 3}, rng, 0.3f, device).set_requires_grad();
    Tensor b = random_tensor({l.co}, rng, 0.1f, device).set_requires_grad();
    const Tensor dout = random_tensor({64, l.co, l.h, l.h}, rng, 1.0f, device), x_const = x.detach();
    const double gemm_flops = 2.0 * 64 * l.h * l.h * l.co * l.c * 9;  // one of the three GEMMs
    nlohmann::ordered_json entry;
    for (Mode m : {Mode::exact, Mode::fast}) {
      ScopedMode scoped(m);
      const double rate = gemm_gflops["1024"][mode_name(m)].get<double>() * 1e9;
      auto ms = [&](auto&& step) {
        return 1e3 * adaptive_median_seconds([&] {
                 step();
                 backend(device).synchronize();
               });
      };
      const double fwd_dw = ms([&] {
        w.zero_grad();
        run_backward(conv2d(x_const, w, Tensor(), 1, 1), dout);
      });
      const double all = ms([&] {
        x.zero_grad(), w.zero_grad(), b.zero_grad();
        run_backward(conv2d(x, w, b, 1, 1), dout);
      });
      const double all_sum = ms([&] {
        x.zero_grad(), w.zero_grad(), b.zero_grad();
        sum(conv2d(x, w, b, 1, 1)).backward();
      });
      entry[mode_name(m)] = {{"forward_dw_ms", fwd_dw},
                             {"forward_dw_flop_times", fwd_dw * 1e-3 / (2 * gemm_flops / rate)},
                             {"all_ms", all},
                             {"all_flop_times", all * 1e-3 / (3 * gemm_flops / rate)},
                             {"all_sum_loss_ms", all_sum},
                             {"all_sum_loss_flop_times", all_sum * 1e-3 / (3 * gemm_flops / rate)}};
    }
    out[l.name] = entry;
  }
  return out;
}

// What conv1's output costs where it does not stay in the cache (inside a training step, the activations of the
// other layers push it out): one write (Backend::fill_f32) and one read (reduce_sum, fast mode) of a tensor of
// its size, the tensors taken in turn from a set of 64 MiB or more (past a 32 MiB L3), as a multiple of conv1's
// forward + dW FLOP-time at this run's exact 1024³ GEMM rate. The forward writes that output and the weight
// gradient reads a gradient of the same size, so this is a floor for conv1 in the step.
nlohmann::ordered_json bench_memory_floor(DeviceType device, const nlohmann::ordered_json& gemm_gflops) {
  Backend& be = backend(device);
  const ConvLayer& l = kFmnistConvLayers[0];
  const int64_t n = 64 * l.co * l.h * l.h;
  const int64_t count = std::max<int64_t>(2, (int64_t{64} << 20) / (n * 4) + 1);
  std::vector<Tensor> bufs;
  for (int64_t i = 0; i < count; ++i) bufs.push_back(Tensor::zeros({n}, DType::f32, device));
  Tensor sum1 = Tensor::empty({1}, DType::f32, device);
  int64_t next = 0;
  ScopedMode fast(Mode::fast);
  const double write_s = adaptive_median_seconds([&] {
    be.fill_f32(bufs[next++ % count].data_f32(), 1.0f, n);
    be.synchronize();
  });
  const double read_s = adaptive_median_seconds([&] {
    be.reduce_sum(sum1.data_f32(), bufs[next++ % count].data_f32(), n);
    be.synchronize();
  });
  const double flop_s =
      2 * 2.0 * 64 * l.h * l.h * l.co * l.c * 9 / (gemm_gflops["1024"]["exact"].get<double>() * 1e9);
  return {{"layer", l.name},
          {"bytes", n * 4},
          {"rotation_bytes", count * n * 4},
          {"write_ms", 1e3 * write_s},
          {"read_ms", 1e3 * read_s},
          {"write_read_forward_dw_flop_times", (write_s + read_s) / flop_s}};
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
          be.conv2d_forward(y.data_f32(), x.data_f32(), w.data_f32(), nullptr, s, l.co);
          be.conv2d_backward(with_dx ? dx.data_f32() : nullptr, dw.data_f32(), nullptr, dout.data_f32(),
                             x.data_f32(), w.data_f32(), s, l.co);
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
  static RuntimeOptions runtime;
  ops->add_flag("--json", json, "Print one JSON object on stdout");
  add_runtime_options(ops, runtime, false);
  ops->callback([] {
    const DeviceType d = apply_runtime_options(runtime);
    nlohmann::ordered_json result;
    result["device"] = device_name(d);
    result["threads"] = num_threads();
    result["sgemm_gflops"] = bench_sgemm(d);
    result["conv_forward_backward_batch64"] = bench_conv_layers(d, result["sgemm_gflops"]);
    result["conv_kernels_batch64"] = bench_conv_kernels(d, result["sgemm_gflops"]);
    result["conv1_output_memory_floor"] = bench_memory_floor(d, result["sgemm_gflops"]);
    if (json) {
      std::printf("%s\n", result.dump(2).c_str());
    } else {
      std::printf("SGEMM GFLOP/s on %s (%d host threads)\n%8s %10s %10s %8s\n", device_name(d), num_threads(),
                  "n", "exact", "fast", "ratio");
      for (auto& [k, v] : result["sgemm_gflops"].items())
        std::printf("%8s %10.1f %10.1f %8.2f\n", k.c_str(), v["exact"].get<double>(), v["fast"].get<double>(),
                    v["ratio_exact_over_fast"].get<double>());
      std::printf(
          "\nconv2d op forward + backward, batch 64: ms, and x its FLOP-time at the 1024^3 GEMM rate above\n"
          "  forward + dw: no bias, input without gradient (fmnist-cnn's conv1 as trained), output gradient "
          "given\n"
          "  all: bias, dw, db and dx, output gradient given; sum loss: all, under sum(conv2d(x, w, "
          "b)).backward()\n"
          "%-22s %6s %22s %22s %22s\n",
          "layer", "mode", "forward + dw", "all", "all, sum loss");
      for (auto& [k, v] : result["conv_forward_backward_batch64"].items())
        for (const char* m : {"exact", "fast"})
          std::printf("%-22s %6s %12.3f (%5.2fx) %12.3f (%5.2fx) %12.3f (%5.2fx)\n", k.c_str(), m,
                      v[m]["forward_dw_ms"].get<double>(), v[m]["forward_dw_flop_times"].get<double>(),
                      v[m]["all_ms"].get<double>(), v[m]["all_flop_times"].get<double>(),
                      v[m]["all_sum_loss_ms"].get<double>(), v[m]["all_sum_loss_flop_times"].get<double>());
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
      const auto& f = result["conv1_output_memory_floor"];
      std::printf(
          "\n%s's output (%.1f MB) from memory, not cache (%lld MB of such tensors in turn): write %.3f ms + "
          "read "
          "%.3f ms = %.2fx its forward + dw FLOP-time (exact rate): the floor for conv1 inside a training "
          "step\n",
          f["layer"].get<std::string>().c_str(), f["bytes"].get<double>() / 1e6,
          static_cast<long long>(f["rotation_bytes"].get<int64_t>() >> 20), f["write_ms"].get<double>(),
          f["read_ms"].get<double>(), f["write_read_forward_dw_flop_times"].get<double>());
    }
  });
}

}  // namespace prism::cli
