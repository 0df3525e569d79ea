// CPU optimizer updates: the reference bodies of kernels/optim.hpp, parallel over parameter elements.
#include "prism/kernels/optim.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace prism::cpu {

void CpuBackend::sgd_update(float* param, float* momentum_buf, const float* grad, int64_t n,
                            const SgdParams& p) {
  parallel_each(n, 1 << 14, [&](int64_t i) { kern::sgd_one(param, momentum_buf, grad, p, i); });
}

void CpuBackend::adam_update(float* param, float* m, float* v, const float* grad, int64_t n,
                             const AdamParams& p) {
  parallel_each(n, 1 << 14, [&](int64_t i) { kern::adam_one(param, m, v, grad, p, i); });
}

}  // namespace prism::cpu
