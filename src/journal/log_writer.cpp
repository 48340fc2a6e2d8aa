#include "journal/log_writer.hpp"

#include <spdlog/spdlog.h>

#include "journal/protocol_log.hpp"
#include "journal/tracking_event.hpp"
#include "util/unix_clock.hpp"

namespace mailroom::journal {

namespace {
std::atomic<LogWriter*> g_writer{nullptr};
constexpr std::int64_t kWarnEveryS = 60;
constexpr std::int64_t kRetryEveryS = 1;
constexpr auto kBatchWindow = std::chrono::milliseconds(20);
const char* stream_name(std::size_t i) { return i == 0 ? "protocol" : "tracking"; }
}  // namespace

void install_writer(LogWriter* writer) { g_writer.store(writer); }
LogWriter* installed_writer() { return g_writer.load(std::memory_order_relaxed); }

LogWriter::LogWriter(LogOptions options) : options_(std::move(options)) {
  files_[index(Stream::Protocol)] = std::make_unique<RotatingFile>(protocol_log_spec(), options_);
  files_[index(Stream::Tracking)] = std::make_unique<RotatingFile>(tracking_log_spec(), options_);
  notes_[index(Stream::Protocol)] = protocol_loss_note;
  notes_[index(Stream::Tracking)] = tracking_loss_note;
  thread_ = std::thread([this] { run(); });
}

LogWriter::~LogWriter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void LogWriter::submit(Stream stream, std::string line, std::string keys) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.queue_lines) {
      dropped_[index(stream)]++;
      return;
    }
    queue_.push_back(Item{stream, std::move(line), std::move(keys)});
    submitted_++;
    wake = std::exchange(writer_idle_, false);
  }
  // Only the line that finds the writer asleep wakes it: one futex call per batch, not per line.
  if (wake) wake_.notify_one();
}

void LogWriter::drain() {
  std::unique_lock lock(mutex_);
  const auto target = submitted_;
  drained_.wait(lock, [&] { return written_ >= target || stop_; });
}

void LogWriter::run() {
  std::deque<Item> batch;
  for (;;) {
    std::uint64_t dropped[kStreamCount] = {};
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      writer_idle_ = true;
      wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_ || !queue_.empty(); });
      writer_idle_ = false;
      if (!stop_ && queue_.size() < options_.queue_lines / 4) {
        // Let a batch gather: a busy server's lines then cost one write(2) per window rather
        // than a wake-up and a write each (bench/ANALYSIS.md, protocol log overhead).
        lock.unlock();
        std::this_thread::sleep_for(kBatchWindow);
        lock.lock();
      }
      batch.swap(queue_);
      for (std::size_t i = 0; i < kStreamCount; ++i) dropped[i] = std::exchange(dropped_[i], 0);
      stopping = stop_;
    }
    const auto now = util::unix_now();
    for (std::size_t i = 0; i < kStreamCount; ++i) {
      if (dropped[i] == 0) continue;
      unreported_[i] += dropped[i];
      lost_total_[i] += dropped[i];
      if (now - warned_at_[i] >= kWarnEveryS) {
        warned_at_[i] = now;
        spdlog::warn("log: {} log queue full ({} lines waiting): {} lines dropped so far",
                     stream_name(i), options_.queue_lines, lost_total_[i].load());
      }
    }
    const auto n = batch.size();
    write_batch(batch);
    batch.clear();
    {
      std::lock_guard lock(mutex_);
      written_ += n;
    }
    drained_.notify_all();
    if (stopping) {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) break;
    }
  }
  for (auto& f : files_) f->close();
}

void LogWriter::write_batch(std::deque<Item>& batch) {
  const auto now = util::unix_now();
  bool failed[kStreamCount] = {};
  std::size_t count[kStreamCount] = {};
  for (auto& item : batch) count[index(item.stream)]++;
  for (std::size_t i = 0; i < kStreamCount; ++i) {
    if (count[i] == 0 && unreported_[i] == 0) continue;
    if (now < retry_at_[i]) {
      failed[i] = true;  // still failing: not retried more than once a second
    } else if (unreported_[i] > 0) {
      auto ec = files_[i]->append(notes_[i](unreported_[i], now), "", now);
      if (!ec) ec = files_[i]->flush();
      if (ec) {
        report(i, ec, now);
        failed[i] = true;
      } else {
        spdlog::info("log: writing the {} log again in {} ({} lines lost)", stream_name(i),
                     options_.directory, unreported_[i]);
        unreported_[i] = 0;
      }
    }
  }
  for (auto& item : batch) {
    const auto i = index(item.stream);
    if (!failed[i]) {
      if (auto ec = files_[i]->append(item.line, item.keys, now)) {
        report(i, ec, now);
        failed[i] = true;
      }
    }
    if (failed[i]) {
      unreported_[i]++;
      lost_total_[i]++;
    }
  }
  for (std::size_t i = 0; i < kStreamCount; ++i) {
    if (failed[i]) continue;
    if (auto ec = files_[i]->flush()) {
      // What was pending is gone with the failed write; counted approximately as this batch.
      unreported_[i] += count[i];
      lost_total_[i] += count[i];
      report(i, ec, now);
    }
  }
}

void LogWriter::report(std::size_t i, const std::error_code& ec, std::int64_t now) {
  retry_at_[i] = now + kRetryEveryS;
  if (now - warned_at_[i] < kWarnEveryS) return;
  warned_at_[i] = now;
  spdlog::warn(
      "log: cannot write the {} log in {}: {}; mail is still accepted, {} lines lost so "
      "far, retrying",
      stream_name(i), options_.directory, ec.message(), lost_total_[i].load() + 1);
}

}  // namespace mailroom::journal
