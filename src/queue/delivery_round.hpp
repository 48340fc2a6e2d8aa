// queue/delivery_round: one pass over a batch of due messages, from attempt to durable outcome.
//
// For each message: attempt its due recipients (pending, or deferred and past next_attempt, or
// deferred in a flushed message) with the delivery agents (delivery/dispatcher.hpp), turn
// outcomes into states (deferred -> next attempt by RetryPolicy, or failed 4.4.7 once the queue
// lifetime is over; a flushed recipient tried before its next_attempt keeps its attempt count and
// that next_attempt when it defers again, so an administrator's flush never lengthens the
// backoff), and
// then, in this order, so that a state change is durable before anything acts on it:
//   1. persist: messages whose recipients are all final with no DSN to send are removed (queue
//      file recycled, messages/ fsync'd, then rows deleted; the fsync is the group committer's
//      next one, and only a message with rows in state.db waits for it); other changes are
//      written to state.db in one transaction;
//   2. notify: DSNs (bounce/dsn.hpp) for final states still un-notified (failed; delivered or
//      relayed when NOTIFY=SUCCESS), and one delay warning per recipient still deferred
//      [queue] delay_warning_s after arrival, are built and committed through the queue, like any
//      received message;
//   3. persist again: notified states, and removal of messages now complete.
// A crash between Maildir delivery and step 1 is the only way to deliver a copy twice; a crash
// between 2 and 3 may queue a DSN twice. If state.db cannot be written (disk full), nothing is
// acted upon and the message is held back for a minute.
//
// A queue file failing its checksum (torn by a power cut, never acknowledged) is moved to
// queue_dir/corrupt/ and never delivered.
#pragma once

#include <optional>
#include <vector>

#include "delivery/dispatcher.hpp"
#include "queue/group_commit.hpp"
#include "queue/queue.hpp"
#include "queue/retry_policy.hpp"
#include "queue/scheduler.hpp"
#include "queue/spare_files.hpp"
#include "queue/state_db.hpp"
#include "spool/queue_file.hpp"

namespace mailroom::queue {

class DeliveryRound {
 public:
  DeliveryRound(spool::QueuePaths paths, std::string hostname, RetryPolicy policy,
                std::int64_t delay_warning_s, delivery::Dispatcher& dispatcher, StateDb& db,
                Queue& queue, SpareFiles& spares, GroupCommitter& committer);

  // Returns, per input record, its new record or nullopt when it left the queue.
  std::vector<std::optional<MessageRecord>> run(std::vector<MessageRecord> records,
                                                std::int64_t now);

  // Removes a message for good (admin delete, or complete): file first, then its rows.
  void remove_message(const MessageRecord& record);

 private:
  struct Work {
    MessageRecord record;
    std::optional<spool::QueueFileInfo> info;
    std::vector<std::size_t> changed;
    bool gone = false;
  };
  void apply_outcomes(Work& w, const delivery::JobResult& result, std::int64_t now);
  bool persist(std::vector<Work>& work);
  bool sync_removals();  // waits for an fsync of messages/ after queue files left it
  void notify(Work& w, std::int64_t now);
  bool delay_warning_due(const MessageRecord& r, std::size_t i, std::int64_t now) const;
  void quarantine(const std::string& id);

  spool::QueuePaths paths_;
  std::string hostname_;
  RetryPolicy policy_;
  std::int64_t delay_warning_s_;
  delivery::Dispatcher& dispatcher_;
  StateDb& db_;
  Queue& queue_;
  SpareFiles& spares_;
  GroupCommitter& committer_;
};

// True when every recipient is final and every DSN they call for has been queued.
bool is_complete(const MessageRecord& record);

}  // namespace mailroom::queue
