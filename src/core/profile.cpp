// The step profiler (see profile.hpp): a stack of open scopes on the calling thread, exclusive times
// accumulated per path. Reference code; only the thread that runs the step opens scopes.
#include "prism/core/profile.hpp"

#include <chrono>
#include <deque>
#include <unordered_map>
#include <unordered_set>

namespace prism::profile {

namespace {
using Clock = std::chrono::steady_clock;

struct Open {
  std::string path;
  const std::string* label;
  Clock::time_point start;
  double child_seconds;
};

struct State {
  bool enabled = false;
  std::function<void()> sync;
  std::vector<Open> stack;
  std::unordered_set<std::string> labels;  // interned names (node labels point here)
  std::unordered_map<std::string, size_t> index;
  // Node → the scope its forward ran in. An entry can outlive its node; a node later allocated at the same
  // address while profiling overwrites it, so a stale entry is never read for a profiled node.
  std::unordered_map<const void*, const std::string*> node_labels;
  std::vector<Entry> entries;
};

State& state() {
  static State s;
  return s;
}
}  // namespace

bool enabled() {
  return state().enabled;
}

void set_enabled(bool on) {
  if (on) reset();
  state().enabled = on;
}

void reset() {
  State& s = state();
  s.index.clear();
  s.entries.clear();
  s.node_labels.clear();
}

void set_synchronize(std::function<void()> sync) {
  state().sync = std::move(sync);
}

const std::string* current_label() {
  const State& s = state();
  return s.enabled && !s.stack.empty() ? s.stack.back().label : nullptr;
}

void label_node(const void* node) {
  State& s = state();
  s.node_labels[node] = s.stack.empty() ? nullptr : s.stack.back().label;
}

const char* node_label(const void* node) {
  const State& s = state();
  const auto it = s.node_labels.find(node);
  return it != s.node_labels.end() && it->second ? it->second->c_str() : "unlabelled";
}

void Scope::open(const char* name) {
  State& s = state();
  if (s.sync) s.sync();
  const std::string* label = &*s.labels.insert(name).first;
  std::string path = s.stack.empty() ? *label : s.stack.back().path + "/" + *label;
  s.stack.push_back({std::move(path), label, Clock::now(), 0.0});
  open_ = true;
}

void Scope::close() {
  State& s = state();
  if (s.sync) s.sync();
  Open top = std::move(s.stack.back());
  s.stack.pop_back();
  const double total = std::chrono::duration<double>(Clock::now() - top.start).count();
  if (!s.stack.empty()) s.stack.back().child_seconds += total;
  auto [it, inserted] = s.index.try_emplace(top.path, s.entries.size());
  if (inserted) s.entries.push_back({top.path, 0.0, 0});
  Entry& e = s.entries[it->second];
  e.seconds += total - top.child_seconds;
  e.calls += 1;
}

std::vector<Entry> entries() {
  return state().entries;
}

}  // namespace prism::profile
