// Cosine annealing with linear warm-up (reference): the closed form documented in schedule.hpp.
#include "prism/nn/schedule.hpp"

#include <cmath>
#include <numbers>
#include <string>

#include "prism/core/runtime.hpp"

namespace prism::nn {

void CosineSchedule::validate() const {
  if (!std::isfinite(base_lr) || base_lr < 0.0)
    throw Error("CosineSchedule: base_lr must be finite and >= 0, got " + std::to_string(base_lr));
  if (!std::isfinite(eta_min) || eta_min < 0.0)
    throw Error("CosineSchedule: eta_min must be finite and >= 0, got " + std::to_string(eta_min));
  if (warmup_iters < 0)
    throw Error("CosineSchedule: warmup_iters must be >= 0, got " + std::to_string(warmup_iters));
  if (total_iters <= warmup_iters)
    throw Error("CosineSchedule: total_iters (" + std::to_string(total_iters) +
                ") must exceed warmup_iters (" + std::to_string(warmup_iters) + ")");
}

double CosineSchedule::lr_at(int64_t it) const {
  validate();
  if (it < 0) throw Error("CosineSchedule: iteration must be >= 0, got " + std::to_string(it));
  if (it < warmup_iters) return base_lr * static_cast<double>(it + 1) / static_cast<double>(warmup_iters + 1);
  const double t = static_cast<double>(it - warmup_iters),
               T = static_cast<double>(total_iters - warmup_iters);
  return eta_min + (base_lr - eta_min) * (1.0 + std::cos(std::numbers::pi * t / T)) / 2.0;
}

}  // namespace prism::nn
