// Catch2 main for prism_tests: applies PRISM_MODE / PRISM_THREADS from the environment before the tests run.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "prism/core/runtime.hpp"

#include <cstdio>
#include <cstdlib>

// PRISM_SKIP_WITHOUT_GPU=1 (set by the CTest entry prism:cuda): with no usable CUDA device, exit with 77,
// which CTest reports as SKIPPED, instead of running GPU tests that cannot pass.
int main(int argc, char* argv[]) {
  prism::apply_environment();
  if (const char* s = std::getenv("PRISM_SKIP_WITHOUT_GPU");
      s && s[0] == '1' && !prism::device_available(prism::DeviceType::cuda)) {
    std::printf("SKIPPED: no usable CUDA device (%s)\n",
                prism::device_unavailable_reason(prism::DeviceType::cuda).c_str());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
