// queue/sync_pool: many fsyncs at once, so they share one journal commit.
//
// On ext4 (and most journaling filesystems) every fsync()/fdatasync() that runs alone costs a
// journal commit and a disk cache flush (measured here: 4-8 ms each), but calls that run at the
// same moment join the same commit. Issuing a batch's syncs from parallel threads therefore costs
// about one flush for the whole batch instead of one per file: on this machine a batch of 20 new
// 4 KB files went from ~140 ms (sequential fdatasync) to ~4 ms. Used by the group commit and by
// batched Maildir delivery. Each call still syncs every descriptor it is given (POSIX-correct:
// nothing relies on one file's fsync making another file durable).
//
// Never owns or closes the descriptors it is given.
#pragma once

#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace mailroom::util {

class SyncPool {
 public:
  // 8: with 200 sessions a batch holds dozens of files, and a thread per file scaled worse than
  // 8 threads after sync_file_range (bench/ANALYSIS.md, scenario e200: ~850-1,030 against
  // 1,300-1,590 msg/s).
  explicit SyncPool(std::size_t max_threads = 8);
  ~SyncPool();
  SyncPool(const SyncPool&) = delete;
  SyncPool& operator=(const SyncPool&) = delete;

  struct Request {
    int fd = -1;
    bool data_only = true;  // fdatasync (file contents) rather than fsync (e.g. directories)
  };
  // Runs all syncs concurrently (up to max_threads at a time) and returns one result per request.
  std::vector<std::error_code> sync_all(const std::vector<Request>& requests);

 private:
  struct Job {
    Request request;
    std::error_code* result;
    std::size_t* remaining;
    std::condition_variable* done;
  };
  void worker();

  std::size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Job> jobs_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mailroom::util
