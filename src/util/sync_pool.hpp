// util/sync_pool: many fsyncs at once, so they share one journal commit.
//
// On ext4 (and most journaling file systems) an fsync()/fdatasync() that runs alone costs a journal
// commit and a disk cache flush, but calls that run at the same moment join the same commit: a
// batch's syncs issued from parallel threads cost about one flush for the batch (figures, and why
// 8 threads: bench/ANALYSIS.md). Used by the queue's group commit and by batched Maildir delivery.
// Each call still syncs every descriptor it is given (POSIX-correct: nothing relies on one file's
// fsync making another file durable); writeback is started with sync_file_range first, which is
// never taken for durability.
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
  // 8: measured against a thread per file with 200 sessions (bench/ANALYSIS.md).
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
