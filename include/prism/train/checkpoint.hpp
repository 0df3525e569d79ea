// Training checkpoints as safetensors: model parameters and buffers ("model/…"), optimizer moments
// ("optimizer/…"), the loss's parameters ("loss/…"), memory bank, selector window, sampler state and
// selection totals (their own prefixes), and the integers and scalars in the metadata. Loadable by Python's
// safetensors; byte-identical for identical states (no timestamps), which is how the resume and thread-count
// tests compare runs. A CRC-32 of the contents in the metadata lets a damaged file be reported as such,
// naming it. Reference code.
#pragma once
#include <cstdint>
#include <string>

#include "prism/data/safetensors.hpp"
#include "prism/dml/memory_bank.hpp"
#include "prism/dml/sampler.hpp"
#include "prism/dml/selector.hpp"
#include "prism/nn/module.hpp"
#include "prism/nn/optim.hpp"

namespace prism {

inline constexpr const char* kCheckpointFormat = "prism-checkpoint-1";
inline constexpr const char* kCheckpointChecksumKey = "checksum_crc32";

// Selection totals as they travel in a checkpoint (integers "totals.kept", "totals.clean_kept",
// "totals.noisy", "totals.noisy_removed").
struct CheckpointTotals {
  int64_t kept = 0, clean_kept = 0, noisy = 0, noisy_removed = 0;
};

struct TrainState {
  nn::Module* model = nullptr;
  nn::Optimizer* optimizer = nullptr;
  nn::Module* loss_parameters = nullptr;  // the loss's own parameters ("loss/…"); null when it has none
  dml::MemoryBank* bank = nullptr;        // null for methods without memory
  dml::Selector* selector = nullptr;
  dml::PKSampler* sampler = nullptr;
  CheckpointTotals* totals = nullptr;
  int64_t iteration = 0;  // iterations completed
};

void save_checkpoint(const std::string& path, const TrainState& state, const std::string& method);
// The CRC-32 text save_checkpoint stores under kCheckpointChecksumKey and load_checkpoint verifies.
std::string checkpoint_checksum(const SafeTensors& st);
// Restores every part in place (the objects must be built from the same config); returns the iteration.
// A checkpoint written before the totals were saved restores them as zero and says so on stderr.
int64_t load_checkpoint(const std::string& path, TrainState& state, const std::string& method);

}  // namespace prism
