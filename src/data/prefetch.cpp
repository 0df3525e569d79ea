// The batch prefetcher's worker thread (reference code; see prefetch.hpp).
#include "prism/data/prefetch.hpp"

#include "prism/core/runtime.hpp"

namespace prism {

BatchPrefetcher::BatchPrefetcher(DatasetPtr dataset, bool train, uint64_t seed)
    : dataset_(std::move(dataset)), train_(train), seed_(seed) {
  if (!dataset_) throw Error("BatchPrefetcher: no dataset");
  worker_ = std::thread([this] { run(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    jobs_.clear();  // dropping a packaged_task breaks its promise; nobody waits on it any more
  }
  wake_.notify_all();
  worker_.join();
}

void BatchPrefetcher::submit(std::vector<int64_t> indices, uint64_t first_draw) {
  std::packaged_task<Loaded()> job(
      [ds = dataset_, train = train_, seed = seed_, idx = std::move(indices), first_draw] {
        Loaded out;
        try {
          out.batch = ds->load_batch(idx, train, seed, first_draw);
        } catch (const Error& e) {
          out.error = e.what();
          out.failed = true;
        }
        return out;
      });
  results_.push_back(job.get_future());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

Batch BatchPrefetcher::take() {
  if (results_.empty()) throw Error("BatchPrefetcher::take: no batch was submitted");
  std::future<Loaded> f = std::move(results_.front());
  results_.pop_front();
  Loaded loaded = f.get();
  if (loaded.failed) throw Error(loaded.error);
  return std::move(loaded.batch);
}

void BatchPrefetcher::run() {
  for (;;) {
    std::packaged_task<Loaded()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();  // a prism::Error comes back as Loaded::error, any other exception in the future
  }
}

}  // namespace prism
