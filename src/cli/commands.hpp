// Registration of the prism subcommands; each lives in its own file under src/cli/.
#pragma once
#include <CLI/CLI.hpp>

namespace prism::cli {
void register_bench(CLI::App& app);
void register_check(CLI::App& app);
}  // namespace prism::cli
