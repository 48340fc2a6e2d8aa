// queue/admin_client: the `mailroom queue` side of queue administration (another process than
// the server).
//
// Reading (list, show) works on the files directly and never writes: queue files are immutable
// once committed and state.db is read through SQLite WAL, which never blocks the server.
// Changing (flush, delete, bounce) depends on whether a server holds queue_dir/lock:
//   - it does: the command is posted to state.db's admin_command table and the server carries
//     it out (admin.hpp) and answers; we wait for that answer, up to `timeout`;
//   - it does not: we take the lock ourselves (so no server starts meanwhile) and apply the same
//     rules to the files: delete unlinks, bounce records the failures (the DSNs of a bounce are
//     then sent by the next server start: recovery sees failed, un-notified recipients), and
//     flush leaves its command in admin_command for the next server start to carry out, so that
//     it does not lengthen the backoff there either.
// Exit statuses follow cli/commands.hpp: 0 done, 1 not found or failed, 2 bad input.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "queue/queue.hpp"
#include "queue/state_db.hpp"
#include "spool/queue_file.hpp"

namespace mailroom::queue {

struct QueuedMessageView {
  Envelope envelope;
  std::uint64_t size = 0;              // message bytes
  std::vector<RecipientState> states;  // one per recipient
};

std::vector<QueuedMessageView> read_queue(const spool::QueuePaths& paths);
std::optional<QueuedMessageView> read_queued_message(const spool::QueuePaths& paths,
                                                     const std::string& id);

// postqueue -p style: one block per message, recipients with state and last error.
// Where a recipient goes next ("smtp fabrikam.com", "relayhost [smtp.isp.example]:587",
// "maildir", "lmtp unix:/run/dovecot/lmtp"); empty to leave it out.
using NextHop = std::function<std::string(const std::string& recipient)>;

std::string format_listing(const std::vector<QueuedMessageView>& messages, std::int64_t now,
                           const NextHop& next_hop = {});
// Envelope, per-recipient states and the message's header section.
std::string format_details(const QueuedMessageView& message, const std::string& headers,
                           std::int64_t now, const NextHop& next_hop = {});

struct AdminResult {
  int exit_code = 0;
  std::string text;
};

// verb: "flush" (id may be empty: every message), "delete", "bounce".
AdminResult run_admin_command(const spool::QueuePaths& paths, const std::string& verb,
                              const std::string& id, std::chrono::milliseconds timeout);

// `mailroom queue summary`: Postfix's qshape — for every destination domain with recipients not
// yet final, how many messages have waited how long (buckets of 5, 10, 20, 40, 80, 160, 320,
// 640, 1280 minutes and more), plus recipients by state. A message counts once per domain.
struct QueueShape {
  static constexpr std::size_t kBuckets = 10;  // <= 5m, <= 10m, ... <= 1280m, more
  struct Row {
    std::string domain;
    std::size_t total = 0;
    std::array<std::size_t, kBuckets> by_age{};
  };
  std::vector<Row> rows;  // most messages first; "TOTAL" is computed by the renderers
  std::size_t messages = 0;
  std::map<std::string, std::size_t> recipients_by_state;  // pending, deferred, ...
};
QueueShape queue_shape(const std::vector<QueuedMessageView>& messages, std::int64_t now);
std::string format_shape(const QueueShape& shape);
std::string format_shape_json(const QueueShape& shape);

// "3d4h", "12m5s", "42s": compact durations for listings.
std::string format_age(std::int64_t seconds);

}  // namespace mailroom::queue
