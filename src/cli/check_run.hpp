// The training run that `prism check` replays on two devices and compares bit for bit (reference code). A
// CheckRun owns everything one device needs (model, optimizer state, memory bank, selection state) and
// exposes, after each step, every value that must agree across devices. make_check_run() builds the built-in
// one: the fmnist-cnn net with nn::Adam, a memory bank and PRISM-style selection on synthetic data. To check
// the real trainer instead, implement CheckRun over it and return it from make_check_run(); src/cli/check.cpp
// does not change.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "prism/backend.hpp"

namespace prism::cli {

// One compared value: a tensor's elements as stored (f32 or i32), downloaded to the host.
struct StateEntry {
  std::string name;
  bool is_f32 = true;
  std::vector<uint32_t> bits;
};

class CheckRun {
 public:
  virtual ~CheckRun() = default;
  // Runs training iteration `iteration` (0-based): data, forward, selection, loss, backward, optimizer,
  // memory.
  virtual void step(int64_t iteration) = 0;
  // Everything that must match across devices after the last step, in a fixed order.
  virtual std::vector<StateEntry> state() const = 0;
  // The last step's loss (for the report).
  virtual float last_loss() const = 0;
};

struct CheckRunOptions {
  uint64_t seed = 0;
  int64_t batch = 32;        // P×K with K = 4
  int64_t memory = 128;      // memory-bank rows
  float noise_rate = 0.25f;  // R of the selection
};

std::unique_ptr<CheckRun> make_check_run(DeviceType device, const CheckRunOptions& options);

}  // namespace prism::cli
