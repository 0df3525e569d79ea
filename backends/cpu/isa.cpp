// Runtime ISA dispatch (see isa.hpp): which variants this CPU can run, PRISM_ISA, and the active kernel table.
// Compiled like the rest of the library (baseline flags in a portable build); it only reads CPUID through
// the compiler's builtins and hands out the variant tables.
#include "cpu/isa.hpp"

#include <atomic>
#include <cstdlib>

#include "prism/core/error.hpp"

namespace prism::cpu {

namespace {

bool cpu_has(Isa isa) {
#if defined(PRISM_ISA_X86)
  __builtin_cpu_init();
  switch (isa) {
    case Isa::baseline:
      return true;
    case Isa::avx2:  // what isa_avx2.cpp is compiled for (-mavx2 -mfma); the builtin checks OS AVX state
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:  // -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return false;
#else
  return isa == Isa::baseline;
#endif
}

const IsaKernels& table(Isa isa) {
#if defined(PRISM_ISA_X86)
  if (isa == Isa::avx512) return isa_kernels_avx512();
  if (isa == Isa::avx2) return isa_kernels_avx2();
#endif
  return isa_kernels_baseline();
}

Isa best_supported() {
  const std::vector<Isa> all = supported_isas();
  return all.back();
}

// The choice made on first use: PRISM_ISA when set (refused, naming the variable, if the CPU lacks it).
Isa initial_isa() {
  const char* env = std::getenv("PRISM_ISA");
  if (!env || !*env) return best_supported();
  const Isa isa = parse_isa(env);
  if (!isa_supported(isa))
    throw Error("PRISM_ISA=" + std::string(env) + ": this CPU or build cannot run it (it can: " + [] {
      std::string s;
      for (Isa i : supported_isas()) s += (s.empty() ? "" : ", ") + std::string(isa_name(i));
      return s;
    }() + ")");
  return isa;
}

std::atomic<const IsaKernels*> g_active{nullptr};

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return "avx512";
    case Isa::avx2:
      return "avx2";
    case Isa::baseline:
      return isa_kernels_baseline().name;
  }
  return "?";
}

Isa parse_isa(const std::string& name) {
  if (name == "avx512") return Isa::avx512;
  if (name == "avx2") return Isa::avx2;
  if (name == "baseline" || name == "generic") return Isa::baseline;
  throw Error("unknown ISA '" + name + "' (PRISM_ISA: avx512, avx2 or baseline)");
}

bool isa_supported(Isa isa) {
  return cpu_has(isa);
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::baseline, Isa::avx2, Isa::avx512})
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

const IsaKernels& isa_kernels() {
  const IsaKernels* k = g_active.load(std::memory_order_acquire);
  if (!k) {
    k = &table(initial_isa());
    g_active.store(k, std::memory_order_release);
  }
  return *k;
}

Isa active_isa() {
  return isa_kernels().isa;
}

void set_isa(Isa isa) {
  if (!isa_supported(isa))
    throw Error(std::string("ISA ") + isa_name(isa) + " is not supported by this CPU or build");
  g_active.store(&table(isa), std::memory_order_release);
}

std::string isa_description() {
  std::string all;
  for (Isa i : supported_isas()) all += (all.empty() ? "" : ", ") + std::string(isa_name(i));
  const char* env = std::getenv("PRISM_ISA");
  return std::string(isa_kernels().name) + " (this CPU runs: " + all + "; " +
         (env && *env ? "PRISM_ISA=" + std::string(env) : std::string("PRISM_ISA unset: the best")) + ")";
}

}  // namespace prism::cpu
