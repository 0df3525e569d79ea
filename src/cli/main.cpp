// The prism command: subcommands for training, evaluation, selection, noise generation, cross-checks,
// benchmarks.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "cli/commands.hpp"
#include "cpu/isa.hpp"
#include "prism/core/runtime.hpp"

int main(int argc, char** argv) {
  CLI::App app{"prism — noise-resistant deep metric learning (PRISM, CVPR 2021), portable C++ reference"};
  app.require_subcommand(1);
  // The CPU kernel variant is chosen at run time (backends/cpu/isa.hpp): say which one this CPU gets.
  app.set_version_flag("--version",
                       [] { return "prism 0.1.0, CPU kernels " + prism::cpu::isa_description(); });
  prism::cli::register_bench(app);
  prism::cli::register_eval(app);
  prism::cli::register_select(app);
  prism::cli::register_noise(app);
  prism::cli::register_train(app);
  prism::cli::register_check(app);
  prism::cli::register_sweep(app);
  prism::cli::register_audit(app);
  prism::cli::register_embed(app);
  // The environment (PRISM_MODE, PRISM_THREADS, PRISM_DEVICE) is applied once parsing is complete and before
  // any subcommand runs, so that a bad value there cannot break --help or --version.
  app.parse_complete_callback([] { prism::apply_environment(); });
  // CLI11 reports an unknown first word as "A subcommand is required"; name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    std::string commands;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      known = known || sub->check_name(argv[1]);
      commands += (commands.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::fprintf(stderr, "prism: error: unknown command '%s' (commands: %s; see prism --help)\n", argv[1],
                   commands.c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    // A command that has reported its own result (e.g. `prism check` on a mismatch) only sets the exit code.
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    // --help and --version (exit code 0) print through CLI11; a real error is one line, like every other.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "prism: error: %s\n", e.what());
    return e.get_exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prism: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
