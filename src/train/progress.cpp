// Progress bar / periodic progress lines (reference code).
#include "prism/train/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace prism {

namespace {
std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--:--";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                  (long long)(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  return buf;
}
}  // namespace

Progress::Progress(std::string label, int64_t total, int64_t first)
    : label_(std::move(label)), total_(total), first_(first), tty_(::isatty(STDERR_FILENO) == 1) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void Progress::update(int64_t step, const std::string& fields) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  // A terminal is redrawn 10 times a second; a log gets a line every 10 seconds.
  if (drawn_ && since < (tty_ ? 0.1 : 10.0)) return;
  last_draw_ = now;
  drawn_ = true;
  draw(step, fields, false);
}

void Progress::finish(const std::string& fields) {
  draw(total_, fields, true);
}

void Progress::draw(int64_t step, const std::string& fields, bool final_line) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t done = step - first_;
  const double eta = done > 0 ? elapsed / done * (total_ - step) : -1;
  const double frac = total_ > 0 ? static_cast<double>(step) / total_ : 1.0;
  if (tty_) {
    const int width = 24, filled = static_cast<int>(frac * width + 0.5);
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %lld/%lld %s %s  %s", label_.c_str(), bar.c_str(), (long long)step,
                 (long long)total_, final_line ? "in" : "ETA",
                 format_duration(final_line ? elapsed : eta).c_str(), fields.c_str());
    if (final_line) std::fputc('\n', stderr);
  } else {
    std::fprintf(stderr, "%s %lld/%lld (%3.0f%%) %s %s  %s\n", label_.c_str(), (long long)step,
                 (long long)total_, 100 * frac, final_line ? "in" : "ETA",
                 format_duration(final_line ? elapsed : eta).c_str(), fields.c_str());
  }
  std::fflush(stderr);
}

}  // namespace prism
