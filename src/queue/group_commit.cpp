#include "queue/group_commit.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <ctime>

namespace mailroom::queue {
namespace {
std::error_code last_error() { return {errno, std::system_category()}; }
}  // namespace

GroupCommitter::GroupCommitter(QueuePaths paths, OnCommitted on_committed)
    : paths_(std::move(paths)), on_committed_(std::move(on_committed)) {
  thread_ = std::thread([this] { run(); });
}

GroupCommitter::~GroupCommitter() { stop(); }

void GroupCommitter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t GroupCommitter::batches() const {
  std::lock_guard lock(mutex_);
  return batches_;
}
std::uint64_t GroupCommitter::committed() const {
  std::lock_guard lock(mutex_);
  return committed_;
}

void GroupCommitter::submit(std::unique_ptr<SpoolingMessage> message, CommitCallback done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      pending_.push_back(Pending{std::move(message), std::move(done), {}, 0, 0, -1});
      wake_.notify_one();
      return;
    }
  }
  done(std::make_error_code(std::errc::operation_canceled));
}

void GroupCommitter::run() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping and drained
      batch.swap(pending_);
    }
    commit_batch(batch);
    batch.clear();
  }
}

void GroupCommitter::commit_batch(std::vector<Pending>& batch) {
  // 1. Write every file.
  // A null message is a marker (wait_for_commits): it only completes in order with the batch.
  for (auto& p : batch) {
    if (!p.message) {
      p.result = std::make_error_code(std::errc::operation_canceled);
      continue;
    }
    auto& m = *p.message;
    if ((p.result = m.sticky_error())) continue;
    m.envelope.id = m.file_id();  // the file name is the id; the session cannot change it now
    if (m.envelope.arrival_unix == 0) m.envelope.arrival_unix = std::time(nullptr);
    std::string trailer = encode_trailer(m.envelope, m.size());
    p.body_bytes = m.size();
    p.file_bytes = m.size() + trailer.size();
    if (m.spilled()) {
      p.fd = m.spill_fd();
    } else {
      p.fd = ::open(m.incoming_path().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (p.fd < 0) {
        p.result = last_error();
        continue;
      }
      if ((p.result = write_all(p.fd, m.memory_bytes()))) continue;
    }
    p.result = write_all(p.fd, trailer);
  }
  // 2. Start write-back of all of them so the fdatasyncs below mostly wait on one I/O burst.
  for (auto& p : batch)
    if (!p.result) ::sync_file_range(p.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  // 3. Durable contents.
  for (auto& p : batch)
    if (!p.result && ::fdatasync(p.fd) != 0) p.result = last_error();
  // 4. Commit markers.
  std::size_t renamed = 0;
  for (auto& p : batch) {
    if (!p.result) {
      auto target = paths_.message_file(p.message->file_id());
      if (::rename(p.message->incoming_path().c_str(), target.c_str()) != 0) {
        p.result = last_error();
      } else {
        ++renamed;
      }
    }
  }
  // 5. Durable names.
  if (renamed > 0) {
    if (auto ec = fsync_directory(paths_.messages_dir())) {
      spdlog::error("queue: fsync of {} failed: {}; failing {} commits", paths_.messages_dir(),
                    ec.message(), renamed);
      for (auto& p : batch) {
        if (p.result) continue;  // markers and failed messages were not renamed
        ::unlink(paths_.message_file(p.message->file_id()).c_str());
        p.result = ec;
      }
    }
  }
  std::vector<CommittedMessage> committed;
  committed.reserve(batch.size());
  for (auto& p : batch) {
    if (!p.message) continue;
    // A message that was spilled keeps its fd owned by the SpoolingMessage; ours we close here.
    if (p.fd >= 0 && !p.message->spilled()) ::close(p.fd);
    if (p.result) {
      spdlog::warn("queue: commit id={} failed: {}", p.message->file_id(), p.result.message());
      // The destructor of the SpoolingMessage removes the incoming file (it still owns it).
      if (!p.message->spilled()) ::unlink(p.message->incoming_path().c_str());
    } else {
      p.message->release_file();
      committed.push_back(CommittedMessage{p.message->envelope, p.body_bytes, p.file_bytes});
    }
  }
  {
    std::lock_guard lock(mutex_);
    ++batches_;
    committed_ += committed.size();
  }
  for (auto& p : batch) {
    auto done = std::move(p.done);
    auto result = p.result;
    p.message.reset();
    if (done) done(result);
  }
  if (!committed.empty() && on_committed_) on_committed_(std::move(committed));
}

}  // namespace mailroom::queue
