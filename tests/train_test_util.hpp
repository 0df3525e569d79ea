// Helpers shared by the tests that train through the real trainer on Fashion-MNIST (test_train,
// test_train_losses, test_sweep, test_kill_resume): where the dataset lives, whether it is installed, fresh
// scratch directories (also used by other tests that write files), and a run's metrics.jsonl records.
#pragma once
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "prism/core/io.hpp"

namespace prism::testing {

inline const char* kFashionMnistRoot = "/usr/share/datasets/fashion-mnist";

inline bool fashion_mnist_present() {
  return std::filesystem::exists(std::string(kFashionMnistRoot) + "/train-images-idx3-ubyte.gz");
}

// TMP/prism_<tag>_<pid>_<name>: the process id keeps test runs from several checkouts at once out of each
// other's directories. fresh_scratch_dir removes it first, and every directory it hands out is removed again
// when the test process exits (they piled up in /tmp, hundreds per suite run) unless PRISM_KEEP_TEST_DIRS is set,
// for a look at a failed run's files.
inline std::string scratch_path(const std::string& tag, const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("prism_" + tag + "_" + std::to_string(::getpid()) + "_" + name))
      .string();
}
struct ScratchDirsRemovedAtExit {
  std::vector<std::string> paths;
  ~ScratchDirsRemovedAtExit() {
    if (std::getenv("PRISM_KEEP_TEST_DIRS")) return;
    for (const std::string& p : paths) {
      std::error_code ec;  // best effort: a directory already gone or busy is left as it is
      std::filesystem::remove_all(p, ec);
    }
  }
};
inline ScratchDirsRemovedAtExit& scratch_dirs_removed_at_exit() {
  static ScratchDirsRemovedAtExit dirs;
  return dirs;
}
inline std::string fresh_scratch_dir(const std::string& tag, const std::string& name) {
  const std::string p = scratch_path(tag, name);
  std::filesystem::remove_all(p);
  scratch_dirs_removed_at_exit().paths.push_back(p);
  return p;
}

// One JSON object per non-empty line of DIR/metrics.jsonl.
inline std::vector<nlohmann::json> read_metrics(const std::string& dir) {
  std::vector<nlohmann::json> out;
  std::istringstream in(prism::read_file(dir + "/metrics.jsonl"));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace prism::testing
