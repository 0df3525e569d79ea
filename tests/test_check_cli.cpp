// `prism check` through the built binary: the trainer's step on a CPU-vs-CPU run at two thread counts
// matches bit for bit (the default config, PRISM, 30 steps), a fast-mode target is reported as a mismatch
// naming the step, tensor and element, a missing GPU gives a clear message and exit 2, and bad arguments
// name the option or key.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "prism/core/runtime.hpp"

namespace {

struct Result {
  int code = -1;
  std::string out;
};

Result run_prism(const std::string& args) {
  const std::string cmd = std::string(PRISM_BINARY_PATH) + " " + args + " 2>&1";
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace

TEST_CASE("prism check: the trainer's step, CPU 1 thread vs 2 threads, 3 exact steps, bit-identical",
          "[check]") {
  const Result r = run_prism("check --target cpu --steps 3 --json");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  CHECK(j["result"] == "match");
  CHECK(j["steps"] == 3);
  CHECK(j["method"] == "prism");
  CHECK(j["steps_with_memory"] == 2);  // the memory starts after a third of the steps
  // fmnist-cnn: 11 parameters + 6 batch-norm buffers, Adam's 2 × 11 moments + its step counts, memory
  // (embeddings, labels, sample indices, position), window, selection (P_clean, keep), loss, embeddings
  CHECK(j["tensors_per_step"].get<int>() == 49);
  CHECK(j["reference"] == "cpu (1 thread)");
  CHECK(j["target"] == "cpu (2 threads)");
}

TEST_CASE("prism check: a fast-mode target is reported as a mismatch with its first differing element",
          "[check]") {
  const Result r = run_prism("check --target cpu --target-mode fast --steps 2 --json");
  INFO(r.out);
  REQUIRE(r.code == 1);
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  CHECK(j["result"] == "mismatch");
  CHECK(j["first_mismatch"]["step"] == 0);
  CHECK(!j["first_mismatch"]["tensor"].get<std::string>().empty());
  CHECK(j["first_mismatch"]["index"].get<int64_t>() >= 0);
  CHECK(j["first_mismatch"]["reference_bits"] != j["first_mismatch"]["target_bits"]);
}

TEST_CASE("prism check: without a GPU it says so and exits 2", "[check]") {
  if (prism::device_available(prism::DeviceType::cuda)) return;  // the GPU run is covered by [cuda] tests
  const Result r = run_prism("check --steps 1");
  INFO(r.out);
  CHECK(r.code == 2);
  CHECK(r.out.find("device cuda is not available") != std::string::npos);
  CHECK(r.out.find("--target cpu") != std::string::npos);
}

TEST_CASE("prism check: bad arguments are errors naming the option or key", "[check]") {
  {
    const Result r = run_prism("check --target cpu --set DATA.TRAIN_BATCHSIZE=6 --steps 1");
    INFO(r.out);
    CHECK(r.code != 0);
    CHECK(r.out.find("DATA.TRAIN_BATCHSIZE") != std::string::npos);
  }
  {
    const Result r = run_prism("check --target cpu --method magic --steps 1");
    INFO(r.out);
    CHECK(r.code != 0);
    CHECK(r.out.find("--method") != std::string::npos);
  }
  {
    const Result r = run_prism("check --target cpu --config /nonexistent.yaml --steps 1");
    INFO(r.out);
    CHECK(r.code != 0);
    CHECK(r.out.find("/nonexistent.yaml") != std::string::npos);
  }
}

// The acceptance command: the default experiment's config, PRISM, 30 steps of the trainer's step on
// 1 and 2 threads (with the memory and sTRM selection in use from step 10).
TEST_CASE("prism check: the default config, method prism, 30 steps, 1 vs 2 threads", "[check]") {
  const Result r =
      run_prism("check --config " + std::string(PRISM_SOURCE_DIR) +
                "/data/configs/fashion_mnist_sym50.yaml --method prism --steps 30 --target cpu --json");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  CHECK(j["result"] == "match");
  CHECK(j["steps_with_memory"] == 20);
}

// Without a GPU, the CUDA backend's exact kernels through the real trainer: the launch emulator in the cuda
// slot (a smaller run: the emulator walks every GPU thread on the CPU).
TEST_CASE("prism check: the trainer's step on the CPU and on the CUDA launch emulator, bit-identical",
          "[check][emulator]") {
  const Result r = run_prism(
      "check --target emulator --method prism --steps 6 --set DATA.TRAIN_BATCHSIZE=16 "
      "--set DATA.NUM_INSTANCES=4 --set XBM.SIZE=256 --set MODEL.HEAD.DIM=16 --json");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  CHECK(j["result"] == "match");
  CHECK(j["target"] == "cuda (emulator on the cpu)");
  CHECK(j["steps_with_memory"] == 4);
}

// The vMF forms and the kNN rule through the real trainer on the CPU and on the CUDA launch emulator: the
// device work (the κμ·f GEMM, the bias add, the softmax, the kNN similarities) is bit-identical, and so is
// everything the host does with it.
TEST_CASE("prism check: vmf, vmf_log and knn selection on the CPU and the emulator, bit-identical",
          "[check][emulator]") {
  const std::string variant = GENERATE(std::string("--method prism --set NOISE.CLEAN_PROBABILITY=vmf"),
                                       std::string("--method prism --set NOISE.CLEAN_PROBABILITY=vmf_log"),
                                       std::string("--method knn --set NOISE.KNN_K=5"));
  CAPTURE(variant);
  const Result r = run_prism("check --target emulator " + variant +
                             " --steps 6 --set DATA.TRAIN_BATCHSIZE=16 --set DATA.NUM_INSTANCES=4 "
                             "--set XBM.SIZE=256 --set MODEL.HEAD.DIM=16 --json");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  CHECK(j["result"] == "match");
  CHECK(j["steps_with_memory"] == 4);
}
