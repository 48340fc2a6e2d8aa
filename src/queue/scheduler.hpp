// queue/scheduler: the in-memory view of the queue and what is due when.
//
// Holds one record per queued message (envelope, sizes, one RecipientState per recipient) and
// two indexes: a ready list (to attempt now) and a time index of deferred messages. A message is
// due now when a recipient is pending or has a final state whose DSN is still to be queued
// (notified == false); otherwise at its earliest deferred next_attempt. Workers take ready
// messages in batches (a flushed message is due now whatever its next_attempt says); a message
// taken is "in flight" and is never handed out twice, and admin
// access (with_idle_record) refuses in-flight messages, so a deletion never races a delivery:
// the runtime parks such requests until complete().
//
// Knows no clock: every call that depends on time takes `now` (seconds since the epoch).
// Thread-safe; never does I/O.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "queue/queue.hpp"
#include "queue/state_db.hpp"

namespace mailroom::queue {

struct MessageRecord {
  Envelope envelope;
  std::uint64_t body_bytes = 0;
  std::uint64_t file_bytes = 0;
  std::vector<RecipientState> states;  // one per envelope recipient
  bool has_rows = false;               // state.db holds rows for this message
  std::int64_t hold_until = 0;         // not before (after a failed DSN commit, say)
  bool recovered = false;              // reloaded at start: delivery checks for crash leftovers
  // An administrator's flush: deferred recipients are due now, before their next_attempt, and
  // that early attempt leaves their attempt count and schedule alone (delivery_round.hpp).
  bool flushed = false;
};

class Scheduler {
 public:
  void add(MessageRecord record, std::int64_t now);
  // Adds a batch (one group commit) and wakes one worker for all of it.
  void add_all(std::vector<MessageRecord> records, std::int64_t now);

  // Blocks until ready messages exist (or stop()), then takes up to `max` of them.
  std::vector<MessageRecord> wait_take_ready(std::size_t max);
  // Non-blocking form, for tests and run_deliveries_once().
  std::vector<MessageRecord> take_ready(std::size_t max);

  // A worker is done with `id`: `record` is its new state, or nullopt when it left the queue.
  void complete(const std::string& id, std::optional<MessageRecord> record, std::int64_t now);

  // Moves deferred messages whose time has come to the ready list; returns how many.
  std::size_t promote_due(std::int64_t now);
  std::optional<std::int64_t> next_due() const;

  // Admin access: `fn(MessageRecord&)` runs under the lock on a message that is not in flight.
  enum class Access { Done, NotFound, Busy };
  template <typename Fn>
  Access with_idle_record(const std::string& id, Fn fn);
  void reschedule(const std::string& id, std::int64_t now);  // after with_idle_record changes
  // Takes a message that is not in flight out of the scheduler (admin delete).
  Access remove_idle(const std::string& id, MessageRecord& out);
  std::vector<std::string> ids() const;

  std::size_t size() const;
  std::size_t in_flight() const;
  struct Depth {
    std::size_t ready = 0, deferred = 0, in_flight = 0;
  };
  Depth depth() const;  // every message is in exactly one of the three
  void stop();

 private:
  struct Entry {
    MessageRecord record;
    bool in_flight = false;
    bool ready = false;
    std::int64_t due = 0;  // key in deferred_ while neither ready nor in flight
  };
  static std::int64_t due_time(const MessageRecord& r, std::int64_t now);
  bool place(const std::string& id, Entry& e, std::int64_t now);  // lock held; true: ready
  bool add_locked(MessageRecord record, std::int64_t now);        // lock held; true: ready
  void unplace(const std::string& id, Entry& e);                  // lock held
  std::vector<MessageRecord> take_locked(std::size_t max);

  mutable std::mutex mutex_;
  std::condition_variable ready_cv_;
  std::map<std::string, Entry> entries_;
  std::deque<std::string> ready_;  // may hold ids since erased or taken; Entry::ready decides
  std::set<std::pair<std::int64_t, std::string>> deferred_;
  std::size_t in_flight_ = 0;
  bool stopping_ = false;
};

template <typename Fn>
Scheduler::Access Scheduler::with_idle_record(const std::string& id, Fn fn) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return Access::NotFound;
  if (it->second.in_flight) return Access::Busy;
  fn(it->second.record);
  return Access::Done;
}

}  // namespace mailroom::queue
