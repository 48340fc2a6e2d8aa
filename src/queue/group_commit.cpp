#include "queue/group_commit.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <ctime>
#include <stdexcept>

#include "util/posix_file.hpp"

namespace mailroom::queue {

GroupCommitter::GroupCommitter(spool::QueuePaths paths, util::SyncPool& sync_pool,
                               SpareFiles* spares, OnCommitted on_committed)
    : paths_(std::move(paths)),
      sync_pool_(sync_pool),
      spares_(spares),
      on_committed_(std::move(on_committed)) {
  messages_dir_fd_ = ::open(paths_.messages_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (messages_dir_fd_ < 0) throw std::runtime_error("queue: cannot open " + paths_.messages_dir());
  thread_ = std::thread([this] { run(); });
}

GroupCommitter::~GroupCommitter() {
  stop();
  ::close(messages_dir_fd_);
}

void GroupCommitter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::error_code GroupCommitter::sync_messages_dir() {
  std::unique_lock lock(mutex_);
  if (!stopping_) {
    // The batch taken after this moment fsyncs messages/ after every change made before it.
    const auto target = batches_taken_ + 1;
    dir_sync_wanted_ = true;
    wake_.notify_one();
    dir_synced_.wait(lock, [&] { return dir_synced_through_ >= target || stopping_; });
    if (dir_synced_through_ >= target) return last_dir_result_;
  }
  lock.unlock();  // stopped: no batch will come
  return util::fsync_directory(paths_.messages_dir());
}

void GroupCommitter::request_messages_dir_sync() {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      dir_sync_wanted_ = true;
      wake_.notify_one();
      return;
    }
  }
  if (auto ec = sync_messages_dir())  // stopped: no batch will come
    spdlog::error("queue: cannot sync {}: {}", paths_.messages_dir(), ec.message());
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
      Pending p;
      p.message = std::move(message);
      p.done = std::move(done);
      pending_.push_back(std::move(p));
      wake_.notify_one();
      return;
    }
  }
  if (done) done(std::make_error_code(std::errc::operation_canceled));
}

void GroupCommitter::run() {
  std::vector<Pending> batch;
  for (;;) {
    bool sync_dir = false;
    std::uint64_t taken = 0;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !pending_.empty() || dir_sync_wanted_; });
      if (pending_.empty() && !dir_sync_wanted_) break;  // stopping and drained
      batch.swap(pending_);
      sync_dir = std::exchange(dir_sync_wanted_, false);
      taken = ++batches_taken_;
    }
    auto dir_result = commit_batch(batch, sync_dir);
    batch.clear();
    {
      std::lock_guard lock(mutex_);
      dir_synced_through_ = taken;
      last_dir_result_ = dir_result;
    }
    dir_synced_.notify_all();
  }
  dir_synced_.notify_all();  // waiters of a stopped committer sync for themselves
}

void GroupCommitter::write_file(Pending& p) {
  auto& m = *p.message;
  if ((p.result = m.sticky_error())) return;
  m.envelope.id = m.file_id();  // the file name is the id; the session cannot change it now
  if (m.envelope.arrival_unix == 0) m.envelope.arrival_unix = std::time(nullptr);
  std::string trailer = spool::encode_trailer(m.envelope, m.size(), m.hasher());
  p.body_bytes = m.size();
  p.file_bytes = m.size() + trailer.size();
  bool reused = false;
  if (m.spilled()) {
    p.fd = m.spill_fd();
  } else {
    p.fd = spares_ ? spares_->take(m.incoming_path()) : -1;
    reused = p.fd >= 0;
    if (p.fd < 0)
      p.fd = ::open(m.incoming_path().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (p.fd < 0) {
      p.result = util::last_error();
      return;
    }
    if ((p.result = util::write_all(p.fd, m.memory_bytes()))) return;
  }
  p.result = util::write_all(p.fd, trailer);
  // A reused spare (spare_files.hpp) may be longer than this message: cut off the old tail so
  // the footer is the file's end. No-op for a new file.
  if (!p.result && reused && ::ftruncate(p.fd, static_cast<off_t>(p.file_bytes)) != 0)
    p.result = util::last_error();
}

std::error_code GroupCommitter::commit_batch(std::vector<Pending>& batch, bool sync_dir_anyway) {
  std::vector<util::SyncPool::Request> syncs;
  std::vector<Pending*> synced;
  for (auto& p : batch) {
    if (!p.message) {
      p.result = std::make_error_code(std::errc::operation_canceled);
      continue;
    }
    write_file(p);
    if (p.result) continue;
    auto target = paths_.message_file(p.message->file_id());
    if (::rename(p.message->incoming_path().c_str(), target.c_str()) != 0) {
      p.result = util::last_error();
      continue;
    }
    p.renamed = true;
    syncs.push_back({p.fd, true});
    synced.push_back(&p);
  }
  std::error_code dir_result;
  if (!syncs.empty() || sync_dir_anyway) {
    syncs.push_back({messages_dir_fd_, false});
    auto results = sync_pool_.sync_all(syncs);
    dir_result = results.back();
    for (std::size_t i = 0; i < synced.size(); ++i) {
      synced[i]->result = results[i] ? results[i] : dir_result;
    }
    if (dir_result)
      spdlog::error("queue: fsync of {} failed: {}; failing {} commits", paths_.messages_dir(),
                    dir_result.message(), synced.size());
  }
  std::vector<CommittedMessage> committed;
  committed.reserve(batch.size());
  for (auto& p : batch) {
    if (!p.message) continue;
    // A spilled message's descriptor belongs to the SpoolingMessage; ours is closed here.
    if (p.fd >= 0 && !p.message->spilled()) ::close(p.fd);
    if (p.result) {
      spdlog::warn("queue: commit failed id={} error=\"{}\"", p.message->file_id(),
                   p.result.message());
      if (p.renamed) ::unlink(paths_.message_file(p.message->file_id()).c_str());
      if (!p.message->spilled()) ::unlink(p.message->incoming_path().c_str());
      // Otherwise the SpoolingMessage destructor removes its own incoming file.
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
  // Hand over before completing callbacks, so that a marker (wait_for_commits) or a session that
  // immediately inspects the queue sees the message as queued.
  if (!committed.empty() && on_committed_) on_committed_(std::move(committed));
  for (auto& p : batch) {
    auto done = std::move(p.done);
    p.message.reset();
    if (done) done(p.result);
  }
  return dir_result;
}

}  // namespace mailroom::queue
