// The prism command: subcommands for training, evaluation, selection, noise generation, cross-checks,
// benchmarks.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.hpp"
#include "prism/core/runtime.hpp"

int main(int argc, char** argv) {
  CLI::App app{"prism — noise-resistant deep metric learning (PRISM, CVPR 2021), portable C++ reference"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "prism 0.1.0");
  prism::cli::register_bench(app);
  prism::cli::register_eval(app);
  prism::cli::register_select(app);
  prism::cli::register_noise(app);
  prism::cli::register_train(app);
  prism::cli::register_check(app);
  prism::cli::register_sweep(app);
  try {
    prism::apply_environment();
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prism: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
