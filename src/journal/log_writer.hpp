// journal/log_writer: the one background writer behind the protocol log and the tracking log.
//
// Sessions and delivery threads hand finished lines to submit(), which only takes a mutex and
// appends to a bounded queue: no file I/O ever happens on the caller's thread, so a slow, full or
// unwritable log directory cannot slow a session. One thread writes the queue out in batches,
// gathered for 20 ms after the first line wakes it (one wake-up and one write(2) per batch, not
// per line: bench/ANALYSIS.md), so a line reaches its file within about 20 ms
// (journal/rotating_file does the files and their rotation, for both logs).
// Losses are counted, never hidden: a full queue drops the line; a failing directory (ENOSPC,
// EACCES, ENOTDIR...) drops the batch and is retried at most once a second. Either way spdlog
// warns at most once a minute while it lasts, and when writing works again the log itself gets
// one line saying how many lines were lost (LogSpec's loss note).
// Never: blocks in submit() on anything but the queue's mutex; throws from submit().
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "journal/log_options.hpp"
#include "journal/rotating_file.hpp"

namespace mailroom::journal {

enum class Stream : std::uint8_t { Protocol = 0, Tracking = 1 };
inline constexpr std::size_t kStreamCount = 2;

class LogWriter {
 public:
  // The note written when lines were lost: gets the count and the time, returns a whole line.
  using LossNote = std::function<std::string(std::uint64_t lost, std::int64_t now_unix)>;

  explicit LogWriter(LogOptions options);
  ~LogWriter();  // writes what is queued, then stops
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // One line with its "\n"; `keys` (space-separated) go to the stream's index.
  void submit(Stream stream, std::string line, std::string keys = {});
  // Waits until every line submitted before the call was written or dropped (tests, shutdown).
  void drain();
  std::uint64_t lost(Stream stream) const { return lost_total_[index(stream)].load(); }
  const LogOptions& options() const { return options_; }

 private:
  struct Item {
    Stream stream;
    std::string line;
    std::string keys;
  };
  static std::size_t index(Stream s) { return static_cast<std::size_t>(s); }
  void run();
  void write_batch(std::deque<Item>& batch);
  void report(std::size_t stream, const std::error_code& ec, std::int64_t now);

  LogOptions options_;
  std::unique_ptr<RotatingFile> files_[kStreamCount];
  LossNote notes_[kStreamCount];

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<Item> queue_;
  std::uint64_t submitted_ = 0;               // under mutex_
  std::uint64_t written_ = 0;                 // under mutex_: taken off the queue and handled
  std::uint64_t dropped_[kStreamCount] = {};  // under mutex_: since the last loss note
  bool stop_ = false;
  bool writer_idle_ = false;  // under mutex_: the writer waits for lines (submit wakes it)

  // The writer thread's own.
  std::uint64_t unreported_[kStreamCount] = {};  // lost, not yet noted in the log
  std::int64_t retry_at_[kStreamCount] = {};
  std::int64_t warned_at_[kStreamCount] = {};
  std::atomic<std::uint64_t> lost_total_[kStreamCount] = {};
  std::thread thread_;
};

// The process's writer, for the layers that emit events (server, delivery, queue). Installed by
// the server before anything runs, removed after everything stopped; null: logs off.
void install_writer(LogWriter* writer);
LogWriter* installed_writer();

}  // namespace mailroom::journal
