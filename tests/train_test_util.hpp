// Helpers shared by the tests that train through the real trainer on Fashion-MNIST (test_train,
// test_train_losses): where the dataset lives, whether it is installed, and a run's metrics.jsonl records.
#pragma once
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

// One JSON object per non-empty line of DIR/metrics.jsonl.
inline std::vector<nlohmann::json> read_metrics(const std::string& dir) {
  std::vector<nlohmann::json> out;
  std::istringstream in(prism::read_file(dir + "/metrics.jsonl"));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace prism::testing
