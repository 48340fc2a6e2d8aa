// queue/group_commit: the one thread that makes accepted messages durable.
//
// Sessions that finish DATA at the same moment share the cost of durability: the thread takes
// every commit pending at once and, for the whole batch,
//   1. writes each message's queue file in incoming/ (body, then envelope and footer),
//   2. starts write-back of every file (sync_file_range) so the disk sees one stream,
//   3. fdatasync()s each file (after step 2 most of these find nothing left to flush),
//   4. renames each file into messages/ (the commit marker) and
//   5. fsync()s messages/ once,
// then completes every callback: 250 may be sent. A failure of one file (ENOSPC, EIO) fails only
// that message; a failure of the directory fsync fails the whole batch and removes its files,
// because their durability is unknown. Nothing half-written is ever visible in messages/.
// This is Postfix's mail_stream (fsync before the commit marker) plus OpenSMTPD's incoming/
// rename plus a directory fsync, with fsyncs shared between sessions.
//
// Callbacks run on this thread and must not block. After the callbacks, the committed messages
// are handed to `on_committed` (the scheduler) in one call per batch.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "queue/incoming_message.hpp"
#include "queue/queue_file.hpp"

namespace mailroom::queue {

struct CommittedMessage {
  Envelope envelope;
  std::uint64_t body_bytes = 0;
  std::uint64_t file_bytes = 0;
};

class GroupCommitter {
 public:
  using OnCommitted = std::function<void(std::vector<CommittedMessage>&&)>;

  GroupCommitter(QueuePaths paths, OnCommitted on_committed);
  ~GroupCommitter();  // stop()s

  void submit(std::unique_ptr<SpoolingMessage> message, CommitCallback done);
  // Commits what is pending, then joins the thread. Later submits fail with ECANCELED.
  void stop();

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
  };
  void run();
  void commit_batch(std::vector<Pending>& batch);

  QueuePaths paths_;
  OnCommitted on_committed_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Pending> pending_;
  bool stopping_ = false;
  std::uint64_t batches_ = 0;
  std::uint64_t committed_ = 0;
  std::thread thread_;
};

}  // namespace mailroom::queue
