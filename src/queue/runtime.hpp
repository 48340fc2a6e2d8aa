// queue/runtime: the running queue of a `mailroom serve` process.
//
// start() takes the queue lock (queue_dir/lock, flock: one server per data dir; `mailroom queue`
// uses it to know whether a server is running), creates the layout, removes half-written files
// from incoming/ and state rows without a queue file, lists the committed messages, and starts:
//   - the recovery thread: reads each listed message with its recipient states into the
//     scheduler, then runs the admin commands that waited (none run while it reads), so that a
//     server with a large backlog accepts new mail at once (without background delivery,
//     recovery happens inside start() instead),
//   - the group-commit thread (group_commit.hpp) behind Queue::commit(),
//   - the scheduler thread: wakes for new messages, due retries, and admin commands
//     (`mailroom queue flush|delete|bounce` from another process, via state.db),
//   - QueueConfig::delivery_workers delivery threads (local Maildir delivery, bounces).
// stop() finishes pending commits and in-flight deliveries, then joins everything; it is called
// by the destructor too.
//
// Why one file per message plus one SQLite database for states (and not a per-message state
// log): the common message (all recipients delivered on the first attempt) costs one queue file
// written once and one unlink, with no state write at all — "no row" means "pending". Only
// deferrals, failures and partial deliveries write rows, batched per delivery round in one WAL
// transaction. And the admin CLI, another process, can read states and post commands through the
// same database safely (WAL readers never block the server).
#pragma once

#include <functional>
#include <memory>

#include "config/config.hpp"
#include "directory/directory.hpp"
#include "queue/queue.hpp"
#include "queue/scheduler.hpp"
#include "util/unix_clock.hpp"

namespace mailroom::queue {

struct RuntimeOptions {
  util::UnixClock clock = util::unix_now;
  // False: no scheduler or delivery threads; tests drive deliveries with run_deliveries_once().
  bool background_delivery = true;
  std::size_t memory_limit_bytes = 256 * 1024;  // per IncomingMessage before spilling to disk
  // False: no SMTP/LMTP agent (unit tests that must not touch the network); such recipients
  // are deferred "4.4.0 remote delivery not available".
  bool outbound_delivery = true;
};

class QueueRuntime {
 public:
  // Throws std::runtime_error with one line (lock held by another server, unwritable data dir).
  static std::unique_ptr<QueueRuntime> start(const config::Config& cfg,
                                             std::shared_ptr<directory::Directory> directory,
                                             RuntimeOptions options = {});
  virtual ~QueueRuntime() = default;

  virtual Queue& queue() = 0;
  virtual void stop() = 0;

  // Test and admin hooks. Runs every delivery that is due at clock() on the calling thread and
  // processes pending admin commands; returns the number of messages attempted.
  virtual std::size_t run_deliveries_once() = 0;
  // Blocks until every commit submitted so far has completed and been handed to the scheduler.
  virtual void wait_for_commits() = 0;
  // Number of messages currently in the queue.
  virtual std::size_t queued_messages() const = 0;
  // Messages waiting to be tried now, waiting for a retry, and being delivered.
  virtual Scheduler::Depth depth() const = 0;
};

}  // namespace mailroom::queue
