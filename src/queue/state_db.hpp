// queue/state_db: durable recipient states and admin commands, in queue_dir/state.db (SQLite,
// WAL, synchronous=FULL).
//
// A recipient without a row is pending: a message whose recipients are all delivered on the first
// attempt never writes here. Rows record deferrals (reason, attempts, next attempt), final states
// (delivered / failed, and whether the DSN that state calls for has been queued) and, for a
// recipient that an alias expands to several mailboxes, which of them already have their copy.
//
// admin_command is the mailbox between `mailroom queue flush|delete|bounce` (another process) and
// the running scheduler, which polls `PRAGMA data_version` (changes only when another connection
// commits) and completes each command with a result line the CLI prints.
//
// Thread-safe: one connection, every method holds a mutex (transactions must not interleave).
// Every method reports SQLite failures (disk full, I/O error, locked beyond the busy timeout) as
// std::runtime_error with one line; callers keep their in-memory state and retry later.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace mailroom::queue {

enum class RecipientStatus { Pending, Deferred, Delivered, Failed };
const char* to_string(RecipientStatus);

struct RecipientState {
  RecipientStatus status = RecipientStatus::Pending;
  std::string reason;  // starts with the RFC 3463 status, e.g. "5.1.1 user unknown"
  std::uint32_t attempts = 0;
  std::int64_t next_attempt_unix = 0;
  std::int64_t last_attempt_unix = 0;
  bool notified = false;                  // the DSN this final state calls for has been queued
  std::vector<std::string> delivered_to;  // destinations that already have their copy
  std::string remote_mta;                 // the server whose reply decided the last attempt
  std::string diagnostic;                 // that reply (DSN Diagnostic-Code: smtp;)
  bool relayed = false;         // delivered to a next hop without DSN (a "relayed" notice is owed)
  bool delay_notified = false;  // the delay DSN for this recipient has been queued
  bool is_final() const {
    return status == RecipientStatus::Delivered || status == RecipientStatus::Failed;
  }
};

struct StateUpdate {
  std::string message_id;
  std::size_t recipient_index = 0;
  RecipientState state;
};

struct AdminCommand {
  std::int64_t seq = 0;
  std::string verb;        // "flush" | "delete" | "bounce"
  std::string message_id;  // empty: all messages (flush only)
  bool done = false;
  std::string result;
};

class StateDb {
 public:
  // Creates the database when `create` is set; otherwise a missing file throws.
  static std::unique_ptr<StateDb> open(const std::string& path, bool create);
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  // message id -> recipient index -> state
  using AllStates = std::map<std::string, std::map<std::size_t, RecipientState>>;
  AllStates load_all();
  std::map<std::size_t, RecipientState> load(const std::string& message_id);

  // One transaction: every update is written (upsert) and every listed message's rows removed.
  void apply(const std::vector<StateUpdate>& updates,
             const std::vector<std::string>& removed_messages = {});

  std::int64_t post_command(const std::string& verb, const std::string& message_id);
  std::vector<AdminCommand> pending_commands();
  void complete_command(std::int64_t seq, const std::string& result);
  std::optional<AdminCommand> command(std::int64_t seq);
  // True when another connection committed since the previous call (cheap: no table read).
  bool changed_by_others();

 private:
  explicit StateDb(sqlite3* db);
  void exec(const char* sql);
  void upgrade();
  std::mutex mutex_;
  sqlite3* db_;
  std::int64_t data_version_ = -1;
};

}  // namespace mailroom::queue
