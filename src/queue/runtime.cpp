#include "queue/runtime.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <map>
#include <stdexcept>

#include "queue/group_commit.hpp"
#include "queue/incoming_message.hpp"
#include "queue/message_id.hpp"
#include "queue/queue_file.hpp"

namespace mailroom::queue {

std::int64_t system_clock_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

class DiskQueue final : public Queue {
 public:
  DiskQueue(QueuePaths paths, std::size_t memory_limit, GroupCommitter& committer)
      : paths_(std::move(paths)), memory_limit_(memory_limit), committer_(committer) {}

  std::string new_message_id() override { return ids_.next(); }

  std::unique_ptr<IncomingMessage> begin(Envelope envelope) override {
    if (!is_valid_message_id(envelope.id)) envelope.id = ids_.next();
    return std::make_unique<SpoolingMessage>(std::move(envelope), paths_, memory_limit_);
  }

  void commit(std::unique_ptr<IncomingMessage> message, CommitCallback done) override {
    std::unique_ptr<SpoolingMessage> spooling(dynamic_cast<SpoolingMessage*>(message.get()));
    if (!spooling) {
      done(std::make_error_code(std::errc::invalid_argument));
      return;
    }
    message.release();
    committer_.submit(std::move(spooling), std::move(done));
  }

 private:
  MessageIdGenerator ids_;
  QueuePaths paths_;
  std::size_t memory_limit_;
  GroupCommitter& committer_;
};

class QueueRuntimeImpl final : public QueueRuntime {
 public:
  QueueRuntimeImpl(const config::Config& cfg, std::shared_ptr<directory::Directory> directory,
                   RuntimeOptions options)
      : cfg_(cfg),
        directory_(std::move(directory)),
        options_(std::move(options)),
        paths_(cfg.queue_dir()) {
    if (auto ec = ensure_queue_dirs(paths_))
      throw std::runtime_error("queue: cannot create " + paths_.root + ": " + ec.message());
    lock_fd_ = ::open(paths_.lock_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) throw std::runtime_error("queue: cannot open " + paths_.lock_file());
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(lock_fd_);
      throw std::runtime_error("queue: " + paths_.root + " is in use by another mailroom server");
    }
    if (auto n = remove_incoming_leftovers(paths_))
      spdlog::info("queue: removed {} half-written files from incoming/", n);
    for (const auto& id : list_committed_ids(paths_)) {
      QueueFileInfo info;
      if (auto ec = read_queue_file_info(paths_.message_file(id), info)) {
        spdlog::error("queue: skipping unreadable queue file id={}: {}", id, ec.message());
        continue;
      }
      messages_[id] = CommittedMessage{std::move(info.envelope), info.body_bytes, info.file_bytes};
    }
    spdlog::info("queue: recovered {} messages", messages_.size());
    committer_ = std::make_unique<GroupCommitter>(
        paths_, [this](std::vector<CommittedMessage>&& batch) { on_committed(std::move(batch)); });
    queue_ = std::make_unique<DiskQueue>(paths_, options_.memory_limit_bytes, *committer_);
  }

  ~QueueRuntimeImpl() override {
    stop();
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  Queue& queue() override { return *queue_; }

  void stop() override {
    if (committer_) committer_->stop();
  }

  std::size_t run_deliveries_once() override { return 0; }

  void wait_for_commits() override {
    std::promise<void> flushed;
    auto fut = flushed.get_future();
    // A marker commit: the committer processes batches in order, so when this one completes every
    // earlier submit has completed and been handed over.
    committer_->submit(nullptr, [&](std::error_code) { flushed.set_value(); });
    fut.wait();
  }

  std::size_t queued_messages() const override {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }

 private:
  void on_committed(std::vector<CommittedMessage>&& batch) {
    std::lock_guard lock(mutex_);
    for (auto& m : batch) {
      auto id = m.envelope.id;
      messages_[id] = std::move(m);
    }
  }

  config::Config cfg_;
  std::shared_ptr<directory::Directory> directory_;
  RuntimeOptions options_;
  QueuePaths paths_;
  int lock_fd_ = -1;
  mutable std::mutex mutex_;
  std::map<std::string, CommittedMessage> messages_;
  std::unique_ptr<GroupCommitter> committer_;
  std::unique_ptr<DiskQueue> queue_;
};

}  // namespace

std::unique_ptr<QueueRuntime> QueueRuntime::start(const config::Config& cfg,
                                                  std::shared_ptr<directory::Directory> directory,
                                                  RuntimeOptions options) {
  return std::make_unique<QueueRuntimeImpl>(cfg, std::move(directory), std::move(options));
}

}  // namespace mailroom::queue
