// The step profiler: an off-by-default, main-thread wall-clock breakdown of where a training step's time
// goes (reference code). Scopes nest ("step/forward/conv1"); each records its exclusive time (its own time
// minus its child scopes'), so the entries of a step add up to the step. Autograd nodes remember the scope
// their forward ran in, and the backward pass times each node under "backward/<that scope>". Timing only:
// nothing here changes a computed value. Disabled, a Scope is one branch on a bool.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace prism::profile {

bool enabled();
// Turns profiling on or off; turning it on clears the recorded entries.
void set_enabled(bool on);
void reset();
// Called at every scope boundary while profiling (the GPU: wait for queued kernels, so time lands where it
// was spent). Empty by default.
void set_synchronize(std::function<void()> sync);

// The innermost open scope's name (a stable interned string), or nullptr when profiling is off or no scope
// is open.
const std::string* current_label();
// Autograd: remember the current scope for a node being recorded (while profiling), and look it up when the
// backward pass runs the node ("unlabelled" for a node recorded outside any scope or before profiling).
void label_node(const void* node);
const char* node_label(const void* node);

class Scope {
 public:
  explicit Scope(const char* name) {
    if (enabled()) open(name);
  }
  explicit Scope(const std::string& name) {
    if (enabled()) open(name.c_str());
  }
  ~Scope() {
    if (open_) close();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  void open(const char* name);
  void close();
  bool open_ = false;
};

struct Entry {
  std::string path;    // "step/forward/conv1"
  double seconds = 0;  // exclusive time summed over calls
  int64_t calls = 0;
};
// Every path recorded since the last reset, in the order first seen.
std::vector<Entry> entries();

}  // namespace prism::profile
