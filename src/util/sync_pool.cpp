#include "util/sync_pool.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace mailroom::util {

SyncPool::SyncPool(std::size_t max_threads) : max_threads_(max_threads ? max_threads : 1) {}

SyncPool::~SyncPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

std::vector<std::error_code> SyncPool::sync_all(const std::vector<Request>& requests) {
  std::vector<std::error_code> results(requests.size());
  if (requests.empty()) return results;
  if (requests.size() == 1) {
    // Nothing to share a commit with: no thread hop.
    const auto& r = requests[0];
    if ((r.data_only ? ::fdatasync(r.fd) : ::fsync(r.fd)) != 0)
      results[0] = {errno, std::system_category()};
    return results;
  }
  // The caller syncs the first request itself (one thread hop fewer) and hands the others to
  // the pool, waking one worker per job: waking every idle worker for each batch made them
  // contend for this mutex (bench/ANALYSIS.md measured it at 11 % of the server's CPU).
  // Start writeback of every file first: with a bounded pool a file may wait for a free thread,
  // and its data is then already on the way (bench/fsync_strategies.cpp).
  for (const auto& r : requests)
    if (r.data_only) (void)::sync_file_range(r.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  std::size_t remaining = requests.size() - 1;
  std::condition_variable done;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 1; i < requests.size(); ++i)
      jobs_.push_back(Job{requests[i], &results[i], &remaining, &done});
    // Grow the pool so that every job of this batch can run at the same moment.
    while (idle_ < jobs_.size() && threads_.size() < max_threads_) {
      threads_.emplace_back([this] { worker(); });
      ++idle_;  // counted as idle from birth, so the loop does not over-spawn
    }
  }
  for (std::size_t i = 1; i < requests.size(); ++i) wake_.notify_one();
  const auto& first = requests[0];
  if ((first.data_only ? ::fdatasync(first.fd) : ::fsync(first.fd)) != 0)
    results[0] = {errno, std::system_category()};
  std::unique_lock lock(mutex_);
  done.wait(lock, [&] { return remaining == 0; });
  return results;
}

void SyncPool::worker() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;
    Job job = jobs_.back();
    jobs_.pop_back();
    --idle_;
    lock.unlock();
    const auto& r = job.request;
    std::error_code ec;
    if ((r.data_only ? ::fdatasync(r.fd) : ::fsync(r.fd)) != 0)
      ec = {errno, std::system_category()};
    lock.lock();
    ++idle_;
    *job.result = ec;
    if (--*job.remaining == 0) job.done->notify_all();
  }
}

}  // namespace mailroom::util
