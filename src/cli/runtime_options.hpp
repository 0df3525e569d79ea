// Options shared by the prism subcommands that compute (--device, --mode, --threads) and the helpers that
// apply them; the environment (PRISM_DEVICE, PRISM_MODE, PRISM_THREADS) gives the defaults.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "cli/commands.hpp"
#include "prism/core/runtime.hpp"

namespace prism::cli {

struct RuntimeOptions {
  std::string device, mode;
  int threads = -1;
};

// The accepted values of --device and --mode (parse_device / parse_mode accept the same).
inline CLI::IsMember device_choices() {
  return CLI::IsMember({"cpu", "cuda", "gpu"});
}
inline CLI::IsMember mode_choices() {
  return CLI::IsMember({"exact", "fast"});
}

// with_mode = false for commands that run both modes themselves (benchmarks).
inline void add_runtime_options(CLI::App* cmd, RuntimeOptions& o, bool with_mode = true,
                                bool with_device = true) {
  // Validated here, so that a bad value is reported against the flag that was given.
  if (with_device)
    cmd->add_option("--device", o.device, "cpu or cuda (default: $PRISM_DEVICE or cpu)")
        ->check(device_choices());
  if (with_mode)
    cmd->add_option("--mode", o.mode,
                    "Numeric mode: exact (bit-reproducible) or fast (default: $PRISM_MODE or exact)")
        ->check(mode_choices());
  cmd->add_option("--threads", o.threads, "Host threads, 0 = all (default: $PRISM_THREADS or all)")
      ->check(nonnegative_number());
}

// Sets the thread count alone (a command that computes on the host only: no device to check).
inline void apply_thread_option(const RuntimeOptions& o) {
  if (o.threads >= 0) set_num_threads(o.threads);
}

// Sets the mode and thread count; returns the device to compute on (checked to be available).
inline DeviceType apply_runtime_options(const RuntimeOptions& o) {
  if (!o.mode.empty()) set_mode(parse_mode(o.mode));
  if (o.threads >= 0) set_num_threads(o.threads);
  const DeviceType d = o.device.empty() ? default_device() : parse_device(o.device);
  backend(d);  // throws with the reason when the device is unavailable
  return d;
}

}  // namespace prism::cli
