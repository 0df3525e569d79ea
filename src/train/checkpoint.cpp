// Checkpoints: the whole training state to and from one safetensors file (reference code).
// Integers go into the metadata as decimal text, optimizer scalars as %.17g (round-trips a double exactly).
#include "prism/train/checkpoint.hpp"

#include <cstdio>

#include "prism/core/runtime.hpp"
#include "prism/data/safetensors.hpp"

namespace prism {

namespace {
const char* kModel = "model/";
const char* kOptimizer = "optimizer/";
const char* kInt = "int/";
const char* kScalar = "scalar/";

std::string double_text(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}
}  // namespace

void save_checkpoint(const std::string& path, const TrainState& state, const std::string& method) {
  SafeTensors st;
  st.metadata["format"] = kCheckpointFormat;
  st.metadata["method"] = method;
  st.metadata["iteration"] = std::to_string(state.iteration);
  for (const auto& [name, t] : state.model->state()) st.put(kModel + name, t);
  const nn::OptimizerState opt = state.optimizer->state();
  for (const auto& [name, t] : opt.tensors) st.put(kOptimizer + name, t);
  for (const auto& [name, v] : opt.scalars) st.metadata[std::string(kScalar) + name] = double_text(v);
  dml::StateDict dml_state;
  if (state.bank) state.bank->save_state(dml_state);
  state.selector->save_state(dml_state);
  state.sampler->save_state(dml_state);
  for (const auto& [name, t] : dml_state.tensors) st.put(name, t);
  for (const auto& [name, v] : dml_state.ints) st.metadata[kInt + name] = std::to_string(v);
  write_safetensors(path, st);
}

int64_t load_checkpoint(const std::string& path, TrainState& state, const std::string& method) {
  const SafeTensors st = read_safetensors(path);
  if (!st.metadata.count("format") || st.meta("format") != kCheckpointFormat)
    throw Error(path + ": not a prism checkpoint (metadata 'format' is not " + kCheckpointFormat + ")");
  if (st.meta("method") != method)
    throw Error(path + ": checkpoint of method '" + st.meta("method") + "', but the config asks for '" +
                method + "'");
  nn::TensorMap model;
  nn::OptimizerState opt;
  dml::StateDict dml_state;
  const DeviceType device = state.model->device();
  for (const auto& [name, t] : st.tensors) {
    if (starts_with(name, kModel))
      model[name.substr(std::string(kModel).size())] = st.get_tensor(name, device);
    else if (starts_with(name, kOptimizer))
      opt.tensors[name.substr(std::string(kOptimizer).size())] = st.get_tensor(name, device);
    else
      dml_state.tensors[name] = st.get_tensor(name, DeviceType::cpu);
  }
  for (const auto& [key, text] : st.metadata) {
    try {
      if (starts_with(key, kScalar))
        opt.scalars[key.substr(std::string(kScalar).size())] = std::stod(text);
      else if (starts_with(key, kInt))
        dml_state.ints[key.substr(std::string(kInt).size())] = std::stoll(text);
    } catch (const std::exception&) {
      throw Error(path + ": metadata '" + key + "' = '" + text + "' is not a number");
    }
  }
  state.model->load_state(model);
  state.optimizer->load_state(opt);
  if (state.bank) state.bank->load_state(dml_state);
  state.selector->load_state(dml_state);
  state.sampler->load_state(dml_state);
  try {
    state.iteration = std::stoll(st.meta("iteration"));
  } catch (const std::invalid_argument&) {
    throw Error(path + ": metadata 'iteration' is not a number");
  }
  return state.iteration;
}

}  // namespace prism
