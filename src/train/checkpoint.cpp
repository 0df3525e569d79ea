// Checkpoints: the whole training state to and from one safetensors file (reference code).
// Integers go into the metadata as decimal text, optimizer scalars as double_text (round-trips a double).
#include "prism/train/checkpoint.hpp"

#include <charconv>
#include <cstdio>

#include <zlib.h>

#include <algorithm>
#include <type_traits>

#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/safetensors.hpp"

namespace prism {

namespace {
const char* kModel = "model/";
const char* kOptimizer = "optimizer/";
const char* kInt = "int/";
const char* kScalar = "scalar/";
const char* kLoss = "loss/";

// The whole text as one number, or an error naming the file and the metadata key ("5abc" is not 5).
template <class T>
T parse_number(const std::string& path, const std::string& key, const std::string& text) {
  T v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    throw Error(path + ": metadata '" + key + "' = '" + text + "' is not " +
                (std::is_integral_v<T> ? "an integer" : "a number"));
  return v;
}

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}
}  // namespace

// CRC-32 (zlib) over every tensor (name, dtype, shape, bytes) and every metadata entry except the checksum
// itself, in name order: a file that parses but was damaged — a flipped bit, a tensor of the right length
// from another checkpoint — is reported instead of resumed.
std::string checkpoint_checksum(const SafeTensors& st) {
  uLong crc = crc32(0L, Z_NULL, 0);
  auto add = [&crc](const std::string& s) {
    const uint64_t n = s.size();
    crc = crc32(crc, reinterpret_cast<const Bytef*>(&n), sizeof n);
    for (size_t done = 0; done < s.size();) {  // crc32 takes at most uInt bytes at a time
      const uInt part = static_cast<uInt>(std::min<size_t>(s.size() - done, 1u << 30));
      crc = crc32(crc, reinterpret_cast<const Bytef*>(s.data() + done), part);
      done += part;
    }
  };
  for (const auto& [name, t] : st.tensors) {
    add(name);
    add(st_dtype_name(t.dtype));
    for (int64_t d : t.shape) add(std::to_string(d));
    add(t.data);
  }
  for (const auto& [key, value] : st.metadata)
    if (key != kCheckpointChecksumKey) add(key), add(value);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08lx", static_cast<unsigned long>(crc));
  return buf;
}

void save_checkpoint(const std::string& path, const TrainState& state, const std::string& method) {
  SafeTensors st;
  st.metadata["format"] = kCheckpointFormat;
  st.metadata["method"] = method;
  st.metadata["iteration"] = std::to_string(state.iteration);
  for (const auto& [name, t] : state.model->state()) st.put(kModel + name, t);
  if (state.loss_parameters)
    for (const auto& [name, t] : state.loss_parameters->state()) st.put(kLoss + name, t);
  const nn::OptimizerState opt = state.optimizer->state();
  for (const auto& [name, t] : opt.tensors) st.put(kOptimizer + name, t);
  for (const auto& [name, v] : opt.scalars) st.metadata[std::string(kScalar) + name] = double_text(v);
  dml::StateDict dml_state;
  if (state.bank) state.bank->save_state(dml_state);
  state.selector->save_state(dml_state);
  state.sampler->save_state(dml_state);
  if (state.totals) {
    dml_state.ints["totals.kept"] = state.totals->kept;
    dml_state.ints["totals.clean_kept"] = state.totals->clean_kept;
    dml_state.ints["totals.noisy"] = state.totals->noisy;
    dml_state.ints["totals.noisy_removed"] = state.totals->noisy_removed;
  }
  for (const auto& [name, t] : dml_state.tensors) st.put(name, t);
  for (const auto& [name, v] : dml_state.ints) st.metadata[kInt + name] = std::to_string(v);
  st.metadata[kCheckpointChecksumKey] = checkpoint_checksum(st);
  write_safetensors(path, st);
}

int64_t load_checkpoint(const std::string& path, TrainState& state, const std::string& method) {
  SafeTensors st;
  try {
    st = read_safetensors(path);
  } catch (const Error& e) {
    throw Error(path + ": not a readable checkpoint (truncated or corrupted?): " + e.what());
  }
  if (!st.metadata.count("format") || st.meta("format") != kCheckpointFormat)
    throw Error(path + ": not a prism checkpoint (metadata 'format' is not " + kCheckpointFormat + ")");
  if (st.metadata.count(kCheckpointChecksumKey) && st.meta(kCheckpointChecksumKey) != checkpoint_checksum(st))
    throw Error(path + ": checkpoint is corrupted (its contents do not match checksum " +
                st.meta(kCheckpointChecksumKey) + ")");
  if (st.meta("method") != method)
    throw Error(path + ": checkpoint of method '" + st.meta("method") + "', but the config asks for '" +
                method + "'");
  nn::TensorMap model, loss_params;
  nn::OptimizerState opt;
  dml::StateDict dml_state;
  const DeviceType device = state.model->device();
  for (const auto& [name, t] : st.tensors) {
    if (starts_with(name, kModel))
      model[name.substr(std::string(kModel).size())] = st.get_tensor(name, device);
    else if (starts_with(name, kLoss))
      loss_params[name.substr(std::string(kLoss).size())] = st.get_tensor(name, device);
    else if (starts_with(name, kOptimizer))
      opt.tensors[name.substr(std::string(kOptimizer).size())] = st.get_tensor(name, device);
    else
      dml_state.tensors[name] = st.get_tensor(name, DeviceType::cpu);
  }
  for (const auto& [key, text] : st.metadata) {
    if (starts_with(key, kScalar))
      opt.scalars[key.substr(std::string(kScalar).size())] = parse_number<double>(path, key, text);
    else if (starts_with(key, kInt))
      dml_state.ints[key.substr(std::string(kInt).size())] = parse_number<int64_t>(path, key, text);
  }
  if (!st.metadata.count("iteration")) throw Error(path + ": metadata has no 'iteration'");
  const int64_t iteration = parse_number<int64_t>(path, "iteration", st.meta("iteration"));
  if (iteration < 0) throw Error(path + ": metadata 'iteration' is negative (" + st.meta("iteration") + ")");
  state.model->load_state(model);
  if (state.loss_parameters)
    state.loss_parameters->load_state(loss_params);
  else if (!loss_params.empty())
    throw Error(path + ": checkpoint holds loss parameters ('" + loss_params.begin()->first +
                "'), but the config's loss has none");
  state.optimizer->load_state(opt);
  if (state.bank) state.bank->load_state(dml_state);
  state.selector->load_state(dml_state);
  state.sampler->load_state(dml_state);
  if (state.totals) {
    if (dml_state.ints.count("totals.kept")) {
      state.totals->kept = dml_state.integer("totals.kept");
      state.totals->clean_kept = dml_state.integer("totals.clean_kept");
      state.totals->noisy = dml_state.integer("totals.noisy");
      state.totals->noisy_removed = dml_state.integer("totals.noisy_removed");
    } else {
      *state.totals = CheckpointTotals{};
      std::fprintf(stderr,
                   "prism: warning: %s predates saved selection totals; kept precision and noise recall will "
                   "cover only the iterations from here on\n",
                   path.c_str());
    }
  }
  state.iteration = iteration;
  return state.iteration;
}

}  // namespace prism
