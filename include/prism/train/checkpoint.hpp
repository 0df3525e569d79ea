// Training checkpoints as safetensors: model parameters and buffers ("model/…"), optimizer moments
// ("optimizer/…"), memory bank, selector window and sampler state (their own prefixes), and the integers and
// scalars in the metadata. Loadable by Python's safetensors; byte-identical for identical states (no
// timestamps), which is how the resume and thread-count tests compare runs. Reference code.
#pragma once
#include <cstdint>
#include <string>

#include "prism/dml/memory_bank.hpp"
#include "prism/dml/sampler.hpp"
#include "prism/dml/selector.hpp"
#include "prism/nn/module.hpp"
#include "prism/nn/optim.hpp"

namespace prism {

inline constexpr const char* kCheckpointFormat = "prism-checkpoint-1";

struct TrainState {
  nn::Module* model = nullptr;
  nn::Optimizer* optimizer = nullptr;
  dml::MemoryBank* bank = nullptr;  // null for method contrastive
  dml::Selector* selector = nullptr;
  dml::PKSampler* sampler = nullptr;
  int64_t iteration = 0;  // iterations completed
};

void save_checkpoint(const std::string& path, const TrainState& state, const std::string& method);
// Restores every part in place (the objects must be built from the same config); returns the iteration.
int64_t load_checkpoint(const std::string& path, TrainState& state, const std::string& method);

}  // namespace prism
