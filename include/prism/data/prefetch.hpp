// Batch prefetching: a worker thread decodes and augments the next batches while the training step computes.
// The worker runs exactly Dataset::load_batch with the arguments given at submit time, so a prefetched batch
// is bit-identical to one loaded synchronously (the tests check this); only the timing changes. Reference
// code.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "prism/data/dataset.hpp"

namespace prism {

class BatchPrefetcher {
 public:
  // `train` and `seed` are fixed for the prefetcher's life (see Dataset::load_batch).
  BatchPrefetcher(DatasetPtr dataset, bool train, uint64_t seed);
  ~BatchPrefetcher();  // stops the worker after the batch in progress; batches not taken are dropped
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // Queues a batch (returns at once). Typical loop: submit(batch 0); for each step s: submit(batch s + 1),
  // b = take(), compute on b.
  void submit(std::vector<int64_t> indices, uint64_t first_draw);
  // The oldest submitted batch, waiting for it if needed; a prism::Error its loading raised is thrown here
  // (same message).
  // Throws prism::Error when nothing was submitted.
  Batch take();
  size_t pending() const { return results_.size(); }  // submitted and not yet taken

 private:
  // What the worker hands back: the batch, or the message of the prism::Error its loading raised. An error
  // crosses threads as text and take() throws a new prism::Error on the owning thread: an exception object
  // shared between threads is reference-counted inside libstdc++, where ThreadSanitizer cannot see the
  // ordering, so the worker dropping the last reference after the owner read the message is reported as a race.
  // (Any other exception still travels in the future.)
  struct Loaded {
    Batch batch;
    std::string error;
    bool failed = false;
  };
  void run();

  DatasetPtr dataset_;
  bool train_;
  uint64_t seed_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<Loaded()>> jobs_;  // guarded by mutex_
  std::deque<std::future<Loaded>> results_;        // touched only by the owning thread
  bool stop_ = false;                              // guarded by mutex_
  std::thread worker_;
};

}  // namespace prism
