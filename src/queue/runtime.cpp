#include "queue/runtime.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include "delivery/dispatcher.hpp"
#include "delivery/maildir_agent.hpp"
#include "delivery/outbound_agent.hpp"
#include "delivery/router.hpp"
#include "queue/admin.hpp"
#include "queue/delivery_round.hpp"
#include "queue/group_commit.hpp"
#include "queue/incoming_message.hpp"
#include "queue/scheduler.hpp"
#include "queue/spare_files.hpp"
#include "queue/state_db.hpp"
#include "spool/message_id.hpp"
#include "util/sync_pool.hpp"

namespace mailroom::queue {

namespace {

constexpr std::size_t kRoundBatch = 32;
constexpr auto kCommandPoll = std::chrono::milliseconds(200);

class DiskQueue final : public Queue {
 public:
  DiskQueue(spool::QueuePaths paths, std::size_t memory_limit, GroupCommitter& committer)
      : paths_(std::move(paths)), memory_limit_(memory_limit), committer_(committer) {}

  std::string new_message_id() override { return ids_.next(); }

  std::unique_ptr<IncomingMessage> begin(Envelope envelope) override {
    if (!spool::is_valid_message_id(envelope.id)) envelope.id = ids_.next();
    return std::make_unique<SpoolingMessage>(std::move(envelope), paths_, memory_limit_);
  }

  void commit(std::unique_ptr<IncomingMessage> message, CommitCallback done) override {
    auto* spooling = dynamic_cast<SpoolingMessage*>(message.get());
    if (!spooling) {
      done(std::make_error_code(std::errc::invalid_argument));
      return;
    }
    message.release();
    committer_.submit(std::unique_ptr<SpoolingMessage>(spooling), std::move(done));
  }

 private:
  spool::MessageIdGenerator ids_;
  spool::QueuePaths paths_;
  std::size_t memory_limit_;
  GroupCommitter& committer_;
};

class QueueRuntimeImpl final : public QueueRuntime {
 public:
  QueueRuntimeImpl(const config::Config& cfg, std::shared_ptr<directory::Directory> directory,
                   RuntimeOptions options)
      : cfg_(cfg), options_(std::move(options)), paths_(cfg.queue_dir()) {
    if (auto ec = spool::ensure_queue_dirs(paths_))
      throw std::runtime_error("queue: cannot create " + paths_.root + ": " + ec.message());
    lock_fd_ = ::open(paths_.lock_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) throw std::runtime_error("queue: cannot open " + paths_.lock_file());
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(lock_fd_);
      throw std::runtime_error("queue: " + paths_.root + " is in use by another mailroom server");
    }
    try {
      db_ = StateDb::open(paths_.state_db(), true);
      // With background delivery the queue files are read by a thread of their own after start
      // (recovering_), so that a server with a large backlog greets and accepts mail at once.
      auto plan = plan_recovery();
      if (options_.background_delivery)
        recovery_plan_ = std::move(plan);
      else
        recover(std::move(plan));
    } catch (...) {
      ::close(lock_fd_);
      throw;
    }
    spares_ = std::make_unique<SpareFiles>(paths_, cfg_.queue.spare_files);
    committer_ = std::make_unique<GroupCommitter>(
        paths_, sync_pool_, spares_.get(), [this](std::vector<CommittedMessage>&& batch) {
          std::vector<MessageRecord> records;
          records.reserve(batch.size());
          for (auto& m : batch) {
            MessageRecord& r = records.emplace_back();
            r.states.resize(m.envelope.recipients.size());
            r.envelope = std::move(m.envelope);
            r.body_bytes = m.body_bytes;
            r.file_bytes = m.file_bytes;
          }
          scheduler_.add_all(std::move(records), options_.clock());
        });
    queue_ = std::make_unique<DiskQueue>(paths_, options_.memory_limit_bytes, *committer_);
    router_ = std::make_unique<delivery::Router>(delivery::router_options(cfg_.delivery),
                                                 std::move(directory));
    maildir_ = std::make_unique<delivery::MaildirAgent>(cfg_.mailbox_root(), cfg_.server.hostname,
                                                        sync_pool_);
    delivery::Dispatcher::Agents agents{{delivery::Transport::Maildir, maildir_.get()}};
    if (options_.outbound_delivery) {
      outbound_ = std::make_unique<delivery::OutboundAgent>(delivery::outbound_agent_options(cfg_));
      agents[delivery::Transport::Smtp] = outbound_.get();
      agents[delivery::Transport::Lmtp] = outbound_.get();
    }
    dispatcher_ = std::make_unique<delivery::Dispatcher>(
        *router_, std::move(agents), delivery::DispatcherOptions{cfg_.delivery.max_hops});
    round_ = std::make_unique<DeliveryRound>(paths_, cfg_.server.hostname, RetryPolicy(cfg_.queue),
                                             cfg_.queue.delay_warning_s, *dispatcher_, *db_,
                                             *queue_, *spares_, *committer_);
    admin_ = std::make_unique<OnlineAdmin>(scheduler_, *db_, *round_, options_.clock, [this] {
      if (outbound_) outbound_->end_rests();
    });
    if (options_.background_delivery) {
      start_threads();
    } else {
      admin_->run_pending_commands();  // posted while no server was running
    }
  }

  ~QueueRuntimeImpl() override {
    stop();
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  Queue& queue() override { return *queue_; }

  void stop() override {
    if (stopped_.exchange(true)) return;
    committer_->stop();  // sessions waiting on a commit get their answer first
    {
      std::lock_guard lock(timer_mutex_);
      stopping_ = true;
    }
    stop_recovery_ = true;
    timer_cv_.notify_all();
    if (recovery_thread_.joinable()) recovery_thread_.join();  // stops at the next file
    scheduler_.stop();
    if (outbound_) outbound_->stop();  // workers blocked on remote servers come back now
    if (timer_thread_.joinable()) timer_thread_.join();
    for (auto& t : workers_) t.join();
    workers_.clear();
    spdlog::info("queue: stopped with {} messages queued", scheduler_.size());
  }

  std::size_t run_deliveries_once() override {
    auto now = options_.clock();
    scheduler_.promote_due(now);
    admin_->run_pending_commands();
    std::size_t attempted = 0;
    // Bounded: a DSN queued by one round is delivered by the next one.
    for (int round = 0; round < 1000; ++round) {
      auto batch = scheduler_.take_ready(kRoundBatch);
      if (batch.empty()) break;
      attempted += batch.size();
      process(std::move(batch));
    }
    return attempted;
  }

  void wait_for_commits() override {
    std::promise<void> flushed;
    auto fut = flushed.get_future();
    committer_->submit(nullptr, [&](std::error_code) { flushed.set_value(); });
    fut.wait();
  }

  std::size_t queued_messages() const override { return scheduler_.size(); }
  Scheduler::Depth depth() const override { return scheduler_.depth(); }

 private:
  // What recovery works from, taken before anything else touches the queue: the committed ids
  // and the states of those that have rows. Half-written files and rows without a file go now.
  struct RecoveryPlan {
    std::vector<std::string> ids;
    std::map<std::string, std::map<std::size_t, RecipientState>> rows;
  };

  RecoveryPlan plan_recovery() {
    if (auto n = spool::remove_incoming_leftovers(paths_))
      spdlog::info("queue: removed {} half-written files from incoming/", n);
    RecoveryPlan plan;
    auto all_rows = db_->load_all();
    plan.ids = spool::list_committed_ids(paths_);
    // Rows whose queue file is gone: the message was removed and the row deletion did not happen.
    std::set<std::string> listed(plan.ids.begin(), plan.ids.end());
    std::vector<std::string> orphans;
    for (auto& [id, states] : all_rows) {
      if (listed.count(id))
        plan.rows.emplace(id, std::move(states));
      else
        orphans.push_back(id);
    }
    db_->apply({}, orphans);
    return plan;
  }

  // Reads every planned queue file into the scheduler. A new message may be committed and
  // delivered meanwhile: its id is not in the plan. Admin commands wait until this is over, so
  // that none finds a message "not queued" that is only not read yet.
  void recover(RecoveryPlan plan) {
    std::size_t recovered = 0;
    auto now = options_.clock();
    for (const auto& id : plan.ids) {
      if (stop_recovery_.load(std::memory_order_relaxed)) {
        spdlog::info("queue: recovery stopped after {} of {} messages", recovered, plan.ids.size());
        return;
      }
      spool::QueueFileInfo info;
      if (auto ec = spool::read_queue_file_info(paths_.message_file(id), info)) {
        spdlog::error(
            "queue: id={} skipped at start: {}", id,
            ec == std::errc::illegal_byte_sequence ? "not a complete queue file" : ec.message());
        continue;
      }
      // The file name is the id (group_commit.hpp). A file naming another id is what a power cut
      // leaves when a spare was renamed for a new message before any of its bytes reached the
      // disk: the old, delivered message, whole and with a valid checksum. Delivering it would
      // deliver that message again (its Maildir copies are named after the old id).
      if (info.envelope.id != id) {
        spool::quarantine_queue_file(paths_, id);
        spdlog::error(
            "queue: id={} holds the envelope of id={} (a reused file the new message never "
            "reached); moved to {} and not delivered",
            id, info.envelope.id, paths_.corrupt_dir());
        continue;
      }
      MessageRecord r;
      r.states.resize(info.envelope.recipients.size());
      if (auto it = plan.rows.find(id); it != plan.rows.end()) {
        for (auto& [index, state] : it->second)
          if (index < r.states.size()) r.states[index] = std::move(state);
        r.has_rows = true;
      }
      r.envelope = std::move(info.envelope);
      r.body_bytes = info.body_bytes;
      r.file_bytes = info.file_bytes;
      r.recovered = true;
      scheduler_.add(std::move(r), now);
      ++recovered;
    }
    spdlog::info("queue: recovered {} messages", recovered);
  }

  void process(std::vector<MessageRecord> batch) {
    std::vector<std::string> ids;
    ids.reserve(batch.size());
    for (const auto& r : batch) ids.push_back(r.envelope.id);
    auto results = round_->run(std::move(batch), options_.clock());
    auto now = options_.clock();
    for (std::size_t i = 0; i < ids.size(); ++i)
      admin_->complete_delivery(ids[i], std::move(results[i]), now);
  }

  void start_threads() {
    recovering_ = true;
    recovery_thread_ = std::thread([this] {
      recover(std::move(recovery_plan_));
      recovery_plan_ = {};
      try {
        admin_->run_pending_commands();  // posted while no server was running, or meanwhile
      } catch (const std::exception& e) {
        spdlog::error("queue: admin commands: {}", e.what());
      }
      recovering_ = false;
    });
    auto workers = std::max<std::uint32_t>(1, cfg_.queue.delivery_workers);
    for (std::uint32_t i = 0; i < workers; ++i) {
      workers_.emplace_back([this] {
        for (;;) {
          auto batch = scheduler_.wait_take_ready(kRoundBatch);
          if (batch.empty()) return;  // stopping
          process(std::move(batch));
        }
      });
    }
    timer_thread_ = std::thread([this] { timer_loop(); });
  }

  // Promotes due retries every scan_interval_s and runs admin commands as they arrive.
  void timer_loop() {
    auto scan_every = std::chrono::seconds(std::max<std::uint32_t>(1, cfg_.queue.scan_interval_s));
    auto next_scan = std::chrono::steady_clock::now();
    std::unique_lock lock(timer_mutex_);
    while (!stopping_) {
      lock.unlock();
      if (std::chrono::steady_clock::now() >= next_scan) {
        scheduler_.promote_due(options_.clock());
        next_scan = std::chrono::steady_clock::now() + scan_every;
      }
      try {
        if (!recovering_ && db_->changed_by_others()) admin_->run_pending_commands();
      } catch (const std::exception& e) {
        spdlog::error("queue: admin commands: {}", e.what());
      }
      lock.lock();
      timer_cv_.wait_for(lock, kCommandPoll, [&] { return stopping_; });
    }
  }

  config::Config cfg_;
  RuntimeOptions options_;
  spool::QueuePaths paths_;
  int lock_fd_ = -1;
  util::SyncPool sync_pool_;
  Scheduler scheduler_;
  std::unique_ptr<StateDb> db_;
  std::unique_ptr<SpareFiles> spares_;
  std::unique_ptr<GroupCommitter> committer_;
  std::unique_ptr<DiskQueue> queue_;
  std::unique_ptr<delivery::Router> router_;
  std::unique_ptr<delivery::MaildirAgent> maildir_;
  std::unique_ptr<delivery::OutboundAgent> outbound_;
  std::unique_ptr<delivery::Dispatcher> dispatcher_;
  std::unique_ptr<DeliveryRound> round_;
  std::unique_ptr<OnlineAdmin> admin_;
  std::vector<std::thread> workers_;
  std::thread timer_thread_;
  RecoveryPlan recovery_plan_;  // handed to recovery_thread_
  std::thread recovery_thread_;
  std::atomic<bool> recovering_{false};
  std::atomic<bool> stop_recovery_{false};
  std::mutex timer_mutex_;
  std::condition_variable timer_cv_;
  bool stopping_ = false;
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::unique_ptr<QueueRuntime> QueueRuntime::start(const config::Config& cfg,
                                                  std::shared_ptr<directory::Directory> directory,
                                                  RuntimeOptions options) {
  return std::make_unique<QueueRuntimeImpl>(cfg, std::move(directory), std::move(options));
}

}  // namespace mailroom::queue
