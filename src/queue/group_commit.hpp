// queue/group_commit: the one thread that makes accepted messages durable.
//
// Sessions that finish DATA at the same moment share the cost of durability: the thread takes
// every commit pending at once and, for the whole batch,
//   1. writes each message's queue file in incoming/ (body, then envelope and checksummed footer),
//   2. renames each file into messages/ (its final name; not yet acknowledged to anyone),
//   3. fdatasync()s every file and fsync()s messages/ all at the same moment (sync_pool.hpp), so
//      the whole batch costs about one journal commit,
// then completes every callback: 250 may be sent. This is Postfix's mail_stream (the file is
// synced before the client hears 250), OpenSMTPD's incoming/ then rename, plus the directory
// fsync maddy lacks. Because step 2 precedes step 3, after a power cut messages/ may hold a torn
// file that was never acknowledged; its footer and checksum (queue_file.hpp) keep it from ever
// being delivered. After a kill -9 such a file is complete and is delivered: allowed, since a
// message that got no 250 may be delivered or not.
//
// A failure of one file (ENOSPC, EIO) fails only that message and removes its file; a failure of
// the directory fsync fails the whole batch. Callbacks run on this thread and must not block.
// After the callbacks the committed messages go to `on_committed` (the scheduler), once per batch.
//
// The same fsync of messages/ makes files that left it (delivered, deleted) durably gone: the
// delivery side asks for it with sync_messages_dir() instead of paying one fsync of its own per
// round, so a busy server's removals ride on the commits it makes anyway (bench/ANALYSIS.md,
// issue 10). Never: a caller told "synced" before an fsync that began after its request ended.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "queue/incoming_message.hpp"
#include "queue/spare_files.hpp"
#include "spool/queue_file.hpp"
#include "util/sync_pool.hpp"

namespace mailroom::queue {

struct CommittedMessage {
  Envelope envelope;
  std::uint64_t body_bytes = 0;
  std::uint64_t file_bytes = 0;
};

class GroupCommitter {
 public:
  using OnCommitted = std::function<void(std::vector<CommittedMessage>&&)>;

  // `spares` may be null (every queue file is then created new).
  GroupCommitter(spool::QueuePaths paths, util::SyncPool& sync_pool, SpareFiles* spares,
                 OnCommitted on_committed);
  ~GroupCommitter();  // stop()s

  // A null message is a marker: its callback runs (with ECANCELED) after everything submitted
  // before it has completed and been handed to on_committed.
  void submit(std::unique_ptr<SpoolingMessage> message, CommitCallback done);
  // Commits what is pending, then joins the thread. Later submits fail with ECANCELED.
  void stop();

  // Makes every change to messages/ made before the call durable: waits for the next fsync of
  // messages/ (the next batch's, or one of its own when nothing is being committed) and returns
  // its result. After stop() it syncs the directory itself.
  std::error_code sync_messages_dir();
  // The same without waiting: the fsync happens soon, with the next batch or alone.
  void request_messages_dir_sync();

  // Statistics, for logs and tests.
  std::uint64_t batches() const;
  std::uint64_t committed() const;

 private:
  struct Pending {
    std::unique_ptr<SpoolingMessage> message;
    CommitCallback done;
    std::error_code result;
    std::uint64_t body_bytes = 0;
    std::uint64_t file_bytes = 0;
    int fd = -1;
    bool renamed = false;
  };
  void run();
  // Returns the result of its fsync of messages/ (none when nothing was written and no one asked).
  std::error_code commit_batch(std::vector<Pending>& batch, bool sync_dir_anyway);
  void write_file(Pending& p);

  spool::QueuePaths paths_;
  util::SyncPool& sync_pool_;
  SpareFiles* spares_;
  OnCommitted on_committed_;
  int messages_dir_fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Pending> pending_;
  bool stopping_ = false;
  // Directory syncs asked for: a request waits for the batch taken after it (generation numbers).
  bool dir_sync_wanted_ = false;
  std::uint64_t batches_taken_ = 0;
  std::uint64_t dir_synced_through_ = 0;  // batches up to this one are done
  std::error_code last_dir_result_;
  std::condition_variable dir_synced_;
  std::uint64_t batches_ = 0;
  std::uint64_t committed_ = 0;
  std::thread thread_;
};

}  // namespace mailroom::queue
