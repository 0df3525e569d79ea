// Learning-rate schedules as pure functions of the iteration (reference code), so resuming a run needs
// nothing but the iteration number. The trainer calls optimizer.set_lr(schedule.lr_at(it)) before step `it`
// (0-based).
#pragma once
#include <cstdint>

namespace prism::nn {

// Linear warm-up, then cosine annealing (torch.optim.lr_scheduler.CosineAnnealingLR, closed form):
//   it < W:  lr = base_lr · (it + 1) / (W + 1)            (rises towards base_lr; never 0)
//   it ≥ W:  t = it − W, T = total_iters − W,
//            lr = eta_min + (base_lr − eta_min) · (1 + cos(π · t / T)) / 2
// With W = 0 this is exactly torch's CosineAnnealingLR(T_max = total_iters, eta_min) stepped once per
// iteration (its get_lr recursion equals this closed form in real arithmetic). Like torch's formula, it is
// periodic past t = T (the LR rises again); set total_iters to the length of the run. Computed in double.
struct CosineSchedule {
  double base_lr = 1e-3;
  double eta_min = 0.0;
  int64_t total_iters = 1;   // T_max + warmup_iters; must exceed warmup_iters
  int64_t warmup_iters = 0;  // W

  double lr_at(int64_t iteration) const;
  void validate() const;  // throws prism::Error naming the bad field
};

}  // namespace prism::nn
