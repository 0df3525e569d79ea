// Registration of the prism subcommands; each lives in its own file under src/cli/.
#pragma once
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <string>

namespace prism::cli {

// Numeric flags that must be >= 0 (or > 0). CLI11's NonNegativeNumber / PositiveNumber would print their range
// up to the largest double in full; these name the bound, so a bad value gets a short line:
// "prism: error: --temperature: -1 is not > 0".
inline CLI::Validator zero_bounded_number(bool zero_allowed) {
  return CLI::Validator(
      [zero_allowed](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || std::isnan(v))
          return text + " is not a number";
        if (zero_allowed ? v >= 0 : v > 0) return "";
        return text + (zero_allowed ? " is not >= 0" : " is not > 0");
      },
      zero_allowed ? "NONNEGATIVE" : "POSITIVE");
}
inline CLI::Validator nonnegative_number() {
  return zero_bounded_number(true);
}
inline CLI::Validator positive_number() {
  return zero_bounded_number(false);
}
void register_bench(CLI::App& app);
void register_bench_dml(CLI::App* bench);     // bench_dml.cpp: `prism bench dml`
void register_bench_train(CLI::App* bench);   // bench_train.cpp: `prism bench train`
void register_bench_resnet(CLI::App* bench);  // bench_resnet.cpp: `prism bench resnet`
void register_bench_data(CLI::App* bench);    // bench_data.cpp: `prism bench data`
void register_eval(CLI::App& app);            // eval.cpp
void register_select(CLI::App& app);          // select.cpp
void register_noise(CLI::App& app);           // noise.cpp
void register_train(CLI::App& app);           // train.cpp: `prism train`, `prism compare`
void register_check(CLI::App& app);           // check.cpp: `prism check`
void register_sweep(CLI::App& app);           // sweep.cpp: `prism sweep`
void register_audit(CLI::App& app);           // audit.cpp: `prism audit`
void register_embed(CLI::App& app);           // embed.cpp: `prism embed`
}  // namespace prism::cli
