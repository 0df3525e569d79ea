// Registration of the prism subcommands; each lives in its own file under src/cli/.
#pragma once
#include <CLI/CLI.hpp>

namespace prism::cli {
void register_bench(CLI::App& app);
void register_bench_dml(CLI::App* bench);    // bench_dml.cpp: `prism bench dml`
void register_bench_train(CLI::App* bench);  // bench_train.cpp: `prism bench train`
void register_eval(CLI::App& app);           // eval.cpp
void register_select(CLI::App& app);         // select.cpp
void register_noise(CLI::App& app);          // noise.cpp
void register_train(CLI::App& app);          // train.cpp: `prism train`, `prism compare`
void register_check(CLI::App& app);          // check.cpp: `prism check`
void register_sweep(CLI::App& app);          // sweep.cpp: `prism sweep`
void register_audit(CLI::App& app);          // audit.cpp: `prism audit`
void register_embed(CLI::App& app);          // embed.cpp: `prism embed`
}  // namespace prism::cli
