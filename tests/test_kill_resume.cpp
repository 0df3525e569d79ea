// Crash safety of `prism train`: the trainer is killed with SIGKILL twenty times at random moments of one run
// (mid-iteration, mid-checkpoint write, mid-evaluation — wherever the timer lands), each time continued with
// --resume; every resume must start cleanly, and the finished run must equal an uninterrupted one: the final
// checkpoint byte for byte (exact mode), the metrics log record for record (throughput aside), the summary
// (times aside). Also: a damaged checkpoint is reported as such, naming the file.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "dml_test_util.hpp"
#include "prism/core/io.hpp"
#include "prism/data/safetensors.hpp"
#include "train_test_util.hpp"

namespace fs = std::filesystem;
using prism::read_file;

namespace {

const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

std::string fresh_dir(const std::string& name) {
  const std::string d = prism::testing::fresh_scratch_dir("kill_test", name);
  fs::create_directories(d);
  return d;
}

// Starts `prism ARGS…` with stdout/stderr to `log`; returns its pid.
pid_t start_prism(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), "a");
    if (f) {
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
    }
    std::vector<char*> argv{const_cast<char*>(PRISM_BINARY_PATH)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(PRISM_BINARY_PATH, argv.data());
    _exit(127);
  }
  return pid;
}

std::vector<nlohmann::json> metrics_without_throughput(const std::string& dir) {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_file(dir + "/metrics.jsonl"));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    j.erase("images_per_second");
    out.push_back(j);
  }
  return out;
}

nlohmann::json summary_without_times(const std::string& dir) {
  auto j = nlohmann::json::parse(read_file(dir + "/summary.json"));
  j.erase("train_seconds");
  j.erase("images_per_second");
  return j;
}

}  // namespace

TEST_CASE("train: killed twenty times at random moments and resumed, the run equals an uninterrupted one",
          "[train][determinism][kill]") {
  if (!fs::exists(std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz"))
    FAIL("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
  const std::string root = fresh_dir("root");
  const std::string config = root + "/c.yaml";
  // Exact mode, a memory large enough that a checkpoint write takes a while, frequent checkpoints and
  // evaluations, so the kills land in every phase of the loop.
  prism::write_file_atomic(config,
                           std::string("SEED: 4\nMODEL:\n  HEAD:\n    DIM: 64\n"
                                       "SOLVER:\n  BASE_LR: 2.0e-3\n  MAX_ITERS: 150\n"
                                       "  CHECKPOINT_PERIOD: 3\n"
                                       "XBM:\n  SIZE: 4096\n  START_ITERATION: 10\n"
                                       "NOISE:\n  METHOD: prism\n  TYPE: symmetric\n  NOISE_RATE: 0.5\n"
                                       "  WINDOW_SIZE: 10\n"
                                       "DATA:\n  ROOT: ") +
                               kFashionMnist +
                               "\n  TRAIN_BATCHSIZE: 32\n  NUM_INSTANCES: 8\n  TRAIN_PER_CLASS: 100\n"
                               "  TEST_PER_CLASS: 30\n  TEST_BATCHSIZE: 100\n"
                               "VALIDATION:\n  VERBOSE: 7\nRUN:\n  MODE: exact\n  THREADS: 2\n"
                               "  LOG_EVERY: 1\n");
  const std::string straight = root + "/straight", killed = root + "/killed";
  double run_seconds = 0;  // the uninterrupted run's wall time: the kill times are drawn as fractions of it
  {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = dmltest::run_prism("train --config " + config + " --out " + straight + " --quiet");
    run_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(r.out);
    REQUIRE(r.code == 0);
  }

  const std::string log = root + "/killed.log";
  std::mt19937 rng(12345);  // the kill times are fixed: a failure reproduces
  int kills = 0, starts = 0;
  bool finished = false;
  while (kills < 20 && !finished) {
    // Killed before it wrote its config.yaml, a run has nothing to resume: it is started again.
    const bool started = fs::exists(killed + "/config.yaml");
    std::vector<std::string> args =
        started ? std::vector<std::string>{"train", "--resume", killed, "--quiet"}
                : std::vector<std::string>{"train", "--config", config, "--out", killed, "--quiet"};
    const pid_t pid = start_prism(args, log);
    REQUIRE(pid > 0);
    ++starts;
    // Later kills come later on average, so the run makes progress between them (a start reads the data). The
    // delays are fractions of the uninterrupted run's time, so that a faster build (or a slower, sanitised one)
    // is still killed about twenty times before it can finish: the first fifteen add up to about 0.84 of it,
    // before the time every start spends reading the data and redoing the steps since its checkpoint. (Fixed
    // delays in seconds let a run that had become faster finish after 14 kills.)
    std::uniform_real_distribution<double> delay(0.01, 0.06 + 0.006 * kills);
    std::this_thread::sleep_for(std::chrono::duration<double>(std::max(0.05, delay(rng) * run_seconds)));
    kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status)) {
      ++kills;
      continue;
    }
    // Finished before the kill: it must have succeeded.
    INFO("start " << starts << " exited with " << WEXITSTATUS(status) << "\n" << read_file(log));
    REQUIRE(WEXITSTATUS(status) == 0);
    finished = fs::exists(killed + "/summary.json");
  }
  if (!finished) {
    const auto r = dmltest::run_prism("train --resume " + killed + " --quiet");
    INFO(r.out << "\n" << read_file(log));
    REQUIRE(r.code == 0);
  }
  INFO(starts << " starts, " << kills << " killed (the uninterrupted run took " << run_seconds
              << " s); log:\n"
              << read_file(log));
  CHECK(kills >= 15);  // the run was really interrupted, not finished at the first start
  CHECK(read_file(killed + "/checkpoint.safetensors") == read_file(straight + "/checkpoint.safetensors"));
  CHECK(metrics_without_throughput(killed) == metrics_without_throughput(straight));
  CHECK(summary_without_times(killed) == summary_without_times(straight));
  CHECK(read_file(killed + "/test_embeddings.npy") == read_file(straight + "/test_embeddings.npy"));
  for (const auto& e : fs::directory_iterator(killed))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);  // no temp file left behind

  // A damaged checkpoint: a flipped byte in a tensor, and a truncated file, are reported naming the file.
  std::string bytes = read_file(killed + "/checkpoint.safetensors");
  bytes[bytes.size() - 100] = static_cast<char>(bytes[bytes.size() - 100] ^ 0x40);
  prism::write_file_atomic(killed + "/checkpoint.safetensors", bytes);
  {
    const auto r = dmltest::run_prism("train --resume " + killed + " --quiet");
    INFO(r.out);
    CHECK(r.code > 0);
    CHECK(r.code < 128);
    CHECK(r.out.find("checkpoint.safetensors") != std::string::npos);
    CHECK(r.out.find("corrupted") != std::string::npos);
  }
  prism::write_file_atomic(killed + "/checkpoint.safetensors", bytes.substr(0, bytes.size() / 2));
  {
    const auto r = dmltest::run_prism("train --resume " + killed + " --quiet");
    INFO(r.out);
    CHECK(r.code > 0);
    CHECK(r.code < 128);
    CHECK(r.out.find("checkpoint.safetensors") != std::string::npos);
    CHECK(r.out.find("truncated") != std::string::npos);
  }
}
