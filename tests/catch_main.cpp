// Catch2 main for prism_tests: applies PRISM_MODE / PRISM_THREADS from the environment before the tests run.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "prism/core/runtime.hpp"

int main(int argc, char* argv[]) {
  prism::apply_environment();
  return Catch::Session().run(argc, argv);
}
