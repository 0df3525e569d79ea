// CPU backend memory: 64-byte aligned host allocations with a cache of freed large blocks, copies and fills
// (reference = fast here).
#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "prism/core/error.hpp"

namespace prism::cpu {

namespace {

// Freed blocks of kMinBytes and more, kept by size for reuse (at most max_cached_bytes()). A training step frees
// and allocates the same sizes every iteration, and glibc hands large blocks back to the OS (mmap / munmap,
// heap trimming), so every step paid for page faults on fresh pages: `prism bench train` read 1 370 img/s
// with plain aligned_alloc and 1 950 with glibc's mmap and trim thresholds raised (2 December 2026, 2-core
// Xeon, fmnist-cnn batch 64) — the difference is this cache's job.
// The cap is an eighth of physical memory (at least 256 MiB): a ResNet-18 training step at batch 16 frees and
// reallocates more than the former fixed 256 MiB, so each step faulted in ~37 000 fresh pages (146 MB; 5-9 % of
// the step) and whichever mode `prism bench resnet` timed first read 10-15 % slower. With room for the step's
// blocks a repeated step faults in none.
class BlockCache {
 public:
  static constexpr size_t kMinBytes = size_t(64) << 10;
  static size_t max_cached_bytes() {
    static const size_t cap = [] {
      const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
      const size_t physical = pages > 0 && page > 0 ? size_t(pages) * size_t(page) : 0;
      return std::max(size_t(256) << 20, physical / 8);
    }();
    return cap;
  }

  void* take(size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(bytes);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= bytes;
    return p;
  }
  bool give(void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cached_ + bytes > max_cached_bytes()) return false;
    free_[bytes].push_back(p);
    cached_ += bytes;
    return true;
  }
  void release_all() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [bytes, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    cached_ = 0;
  }

 private:
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
};

// Never destroyed: tensors held by static objects may be freed after every static destructor has run.
BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache;
  return *cache;
}

size_t rounded_bytes(size_t bytes) {
  return (bytes + 63) / 64 * 64;
}

}  // namespace

void* CpuBackend::alloc(size_t bytes) {
  const size_t size = rounded_bytes(bytes);
  if (size >= BlockCache::kMinBytes)
    if (void* p = block_cache().take(size)) return p;
  void* p = std::aligned_alloc(64, size);
  if (!p && size >= BlockCache::kMinBytes) {  // cached blocks may be what is missing
    block_cache().release_all();
    p = std::aligned_alloc(64, size);
  }
  if (!p) throw Error("cpu: out of memory allocating " + std::to_string(bytes) + " bytes");
  return p;
}
void CpuBackend::dealloc(void* p, size_t bytes) {
  const size_t size = rounded_bytes(bytes);
  if (p && size >= BlockCache::kMinBytes && block_cache().give(p, size)) return;
  std::free(p);
}
void CpuBackend::upload(void* dst, const void* src, size_t bytes) {
  std::memcpy(dst, src, bytes);
}
void CpuBackend::download(void* dst, const void* src, size_t bytes) {
  std::memcpy(dst, src, bytes);
}
void CpuBackend::copy(void* dst, const void* src, size_t bytes) {
  std::memmove(dst, src, bytes);
}
void CpuBackend::fill_f32(float* x, float value, int64_t n) {
  std::fill_n(x, n, value);
}
void CpuBackend::fill_i32(int32_t* x, int32_t value, int64_t n) {
  std::fill_n(x, n, value);
}

}  // namespace prism::cpu
