// Progress display for long runs on stderr: a redrawn bar with ETA when stderr is a terminal, plain periodic
// lines otherwise (logs, CI). Reference code.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace prism {

class Progress {
 public:
  // `label` prefixes every line; `total` is the number of steps; `first` the step the run starts from
  // (resume).
  Progress(std::string label, int64_t total, int64_t first = 0);
  // Reports that `step` steps are done; `fields` is a short "loss 0.41  kept 0.52" text. Rate-limited.
  void update(int64_t step, const std::string& fields);
  // Prints the final state and a newline.
  void finish(const std::string& fields);

 private:
  void draw(int64_t step, const std::string& fields, bool final_line);

  std::string label_;
  int64_t total_, first_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

}  // namespace prism
