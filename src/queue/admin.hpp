// queue/admin: `mailroom queue flush|delete|bounce` as the running server carries them out.
//
// Commands arrive through state.db's admin_command table (posted by the CLI, another process) and
// are executed here, on the server's side, against the scheduler, so that they never race a
// delivery: a message that is in flight is left alone and the command is parked until its
// delivery round completes (complete_delivery), then executed and answered.
//   flush [ID]  deferred recipients become due now (Postfix `postqueue -f` / `-i ID`); the
//               attempt this causes neither counts in their attempts nor pushes their next
//               scheduled retry further out: flushing never lengthens the backoff. A flush of
//               the whole queue first ends every destination's rest (`on_flush_all`), as
//               `postqueue -f` retries dead destinations: the administrator says they are back
//   delete ID   the message leaves the queue without any notification (`postsuper -d ID`)
//   bounce ID   every recipient not yet final fails with 5.0.0 and gets the DSN its NOTIFY
//               asks for (`postsuper -b ID`)
// Results are one line, prefixed with the CLI's exit status: "0 ..." done, "1 ..." not found.
//
// The same rules applied to the files directly, for when no server runs, live in admin_client.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "queue/delivery_round.hpp"
#include "queue/scheduler.hpp"
#include "queue/state_db.hpp"
#include "util/unix_clock.hpp"

namespace mailroom::queue {

inline constexpr const char* kAdminBounceReason =
    "5.0.0 message returned to sender by the administrator";

// Marks every non-final recipient of `record` failed by the administrator; returns the indexes.
std::vector<std::size_t> fail_by_administrator(MessageRecord& record, std::int64_t now);

// Makes `record`'s deferred recipients due now, as an administrator's flush (MessageRecord::
// flushed); false when it has none.
bool flush_deferred(MessageRecord& record);

class OnlineAdmin {
 public:
  // on_flush_all: runs before a flush of the whole queue makes its messages due.
  OnlineAdmin(Scheduler& scheduler, StateDb& db, DeliveryRound& round, util::UnixClock clock,
              std::function<void()> on_flush_all = {});

  // Executes every command not yet done (or parks it).
  void run_pending_commands();
  // Hands a delivered round's result to the scheduler and runs commands parked on `id`.
  void complete_delivery(const std::string& id, std::optional<MessageRecord> record,
                         std::int64_t now);

 private:
  // The result line, or nullopt when parked.
  std::optional<std::string> execute(const AdminCommand& command);
  std::string flush_all(std::int64_t now);
  void finish(const AdminCommand& command, const std::string& result);

  Scheduler& scheduler_;
  StateDb& db_;
  DeliveryRound& round_;
  util::UnixClock clock_;
  std::function<void()> on_flush_all_;
  std::mutex mutex_;  // orders parking against complete_delivery
  std::map<std::string, std::vector<AdminCommand>> parked_;
};

}  // namespace mailroom::queue
