#include "queue/state_db.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <ctime>
#include <stdexcept>

namespace mailroom::queue {
namespace {

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // True while there is a row.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail("step");
    return false;
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  [[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("queue state db: ") + what + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += '\n';
    out += s;
  }
  return out;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

RecipientStatus status_from(const std::string& s) {
  if (s == "deferred") return RecipientStatus::Deferred;
  if (s == "delivered") return RecipientStatus::Delivered;
  if (s == "failed") return RecipientStatus::Failed;
  return RecipientStatus::Pending;
}

constexpr std::int64_t kFlagRelayed = 1;
constexpr std::int64_t kFlagDelayNotified = 2;

RecipientState state_from_row(Statement& st, int first_col) {
  RecipientState s;
  s.status = status_from(st.text(first_col));
  s.reason = st.text(first_col + 1);
  s.attempts = static_cast<std::uint32_t>(st.integer(first_col + 2));
  s.next_attempt_unix = st.integer(first_col + 3);
  s.last_attempt_unix = st.integer(first_col + 4);
  s.notified = st.integer(first_col + 5) != 0;
  s.delivered_to = split_lines(st.text(first_col + 6));
  s.remote_mta = st.text(first_col + 7);
  s.diagnostic = st.text(first_col + 8);
  const auto flags = st.integer(first_col + 9);
  s.relayed = (flags & kFlagRelayed) != 0;
  s.delay_notified = (flags & kFlagDelayNotified) != 0;
  return s;
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS recipient_state(
  message_id TEXT NOT NULL,
  rcpt_index INTEGER NOT NULL,
  status TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_unix INTEGER NOT NULL DEFAULT 0,
  last_attempt_unix INTEGER NOT NULL DEFAULT 0,
  notified INTEGER NOT NULL DEFAULT 0,
  delivered_to TEXT NOT NULL DEFAULT '',
  remote_mta TEXT NOT NULL DEFAULT '',
  diagnostic TEXT NOT NULL DEFAULT '',
  flags INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(message_id, rcpt_index)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS admin_command(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  verb TEXT NOT NULL,
  message_id TEXT NOT NULL,
  requested_unix INTEGER NOT NULL,
  done INTEGER NOT NULL DEFAULT 0,
  result TEXT NOT NULL DEFAULT '');
)sql";

}  // namespace

const char* to_string(RecipientStatus s) {
  switch (s) {
    case RecipientStatus::Pending:
      return "pending";
    case RecipientStatus::Deferred:
      return "deferred";
    case RecipientStatus::Delivered:
      return "delivered";
    case RecipientStatus::Failed:
      return "failed";
  }
  return "pending";
}

std::unique_ptr<StateDb> StateDb::open(const std::string& path, bool create) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("queue state db " + path + ": " + msg);
  }
  std::unique_ptr<StateDb> s(new StateDb(db));
  sqlite3_busy_timeout(db, 5000);
  s->exec("PRAGMA journal_mode=WAL");
  // FULL: a state change is durable before it is acted upon (a DSN sent, a retry skipped).
  s->exec("PRAGMA synchronous=FULL");
  if (create) s->exec(kSchema);
  s->upgrade();
  // Baseline for changed_by_others(): a command posted by another process from now on is seen
  // by the first poll (without it the first poll only records the version and misses it).
  s->changed_by_others();
  return s;
}

StateDb::StateDb(sqlite3* db) : db_(db) {}
StateDb::~StateDb() { sqlite3_close(db_); }

// Columns added after the first release; a state.db written by an older mailroom gets them here
// (ALTER TABLE ... ADD COLUMN keeps every row, with the column's default).
void StateDb::upgrade() {
  std::vector<std::string> columns;
  {
    Statement st(db_, "SELECT name FROM pragma_table_info('recipient_state')");
    while (st.step()) columns.push_back(st.text(0));
  }
  if (columns.empty()) return;  // opened without create on a database that has no table yet
  auto has = [&](const char* c) {
    return std::find(columns.begin(), columns.end(), c) != columns.end();
  };
  if (!has("remote_mta"))
    exec("ALTER TABLE recipient_state ADD COLUMN remote_mta TEXT NOT NULL DEFAULT ''");
  if (!has("diagnostic"))
    exec("ALTER TABLE recipient_state ADD COLUMN diagnostic TEXT NOT NULL DEFAULT ''");
  if (!has("flags"))
    exec("ALTER TABLE recipient_state ADD COLUMN flags INTEGER NOT NULL DEFAULT 0");
}

void StateDb::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    throw std::runtime_error("queue state db: " + msg);
  }
}

StateDb::AllStates StateDb::load_all() {
  std::lock_guard lock(mutex_);
  AllStates all;
  Statement st(db_,
               "SELECT message_id, rcpt_index, status, reason, attempts, next_attempt_unix, "
               "last_attempt_unix, notified, delivered_to, remote_mta, diagnostic, flags "
               "FROM recipient_state");
  while (st.step())
    all[st.text(0)][static_cast<std::size_t>(st.integer(1))] = state_from_row(st, 2);
  return all;
}

std::map<std::size_t, RecipientState> StateDb::load(const std::string& message_id) {
  std::lock_guard lock(mutex_);
  std::map<std::size_t, RecipientState> out;
  Statement st(db_,
               "SELECT rcpt_index, status, reason, attempts, next_attempt_unix, "
               "last_attempt_unix, notified, delivered_to, remote_mta, diagnostic, flags "
               "FROM recipient_state WHERE message_id = ?1");
  st.bind(1, message_id);
  while (st.step()) out[static_cast<std::size_t>(st.integer(0))] = state_from_row(st, 1);
  return out;
}

void StateDb::apply(const std::vector<StateUpdate>& updates,
                    const std::vector<std::string>& removed_messages) {
  std::lock_guard lock(mutex_);
  if (updates.empty() && removed_messages.empty()) return;
  exec("BEGIN IMMEDIATE");
  try {
    Statement up(db_,
                 "INSERT INTO recipient_state(message_id, rcpt_index, status, reason, attempts, "
                 "next_attempt_unix, last_attempt_unix, notified, delivered_to, remote_mta, "
                 "diagnostic, flags) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
                 "ON CONFLICT(message_id, rcpt_index) DO UPDATE SET status=excluded.status, "
                 "reason=excluded.reason, attempts=excluded.attempts, "
                 "next_attempt_unix=excluded.next_attempt_unix, "
                 "last_attempt_unix=excluded.last_attempt_unix, notified=excluded.notified, "
                 "delivered_to=excluded.delivered_to, remote_mta=excluded.remote_mta, "
                 "diagnostic=excluded.diagnostic, flags=excluded.flags");
    for (const auto& u : updates) {
      up.bind(1, u.message_id)
          .bind(2, static_cast<std::int64_t>(u.recipient_index))
          .bind(3, std::string(to_string(u.state.status)))
          .bind(4, u.state.reason)
          .bind(5, static_cast<std::int64_t>(u.state.attempts))
          .bind(6, u.state.next_attempt_unix)
          .bind(7, u.state.last_attempt_unix)
          .bind(8, static_cast<std::int64_t>(u.state.notified ? 1 : 0))
          .bind(9, join_lines(u.state.delivered_to))
          .bind(10, u.state.remote_mta)
          .bind(11, u.state.diagnostic)
          .bind(12, (u.state.relayed ? kFlagRelayed : 0) |
                        (u.state.delay_notified ? kFlagDelayNotified : 0));
      up.step();
      up.reset();
    }
    Statement del(db_, "DELETE FROM recipient_state WHERE message_id = ?1");
    for (const auto& id : removed_messages) {
      del.bind(1, id);
      del.step();
      del.reset();
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::int64_t StateDb::post_command(const std::string& verb, const std::string& message_id) {
  std::lock_guard lock(mutex_);
  Statement st(db_,
               "INSERT INTO admin_command(verb, message_id, requested_unix) VALUES(?1, ?2, ?3)");
  st.bind(1, verb).bind(2, message_id).bind(3, static_cast<std::int64_t>(std::time(nullptr)));
  st.step();
  return sqlite3_last_insert_rowid(db_);
}

std::vector<AdminCommand> StateDb::pending_commands() {
  std::lock_guard lock(mutex_);
  std::vector<AdminCommand> out;
  Statement st(db_, "SELECT seq, verb, message_id FROM admin_command WHERE done = 0 ORDER BY seq");
  while (st.step()) out.push_back(AdminCommand{st.integer(0), st.text(1), st.text(2), false, ""});
  return out;
}

void StateDb::complete_command(std::int64_t seq, const std::string& result) {
  std::lock_guard lock(mutex_);
  // Completed commands older than a day are dropped: the table is a mailbox, not a log.
  Statement st(db_, "UPDATE admin_command SET done = 1, result = ?2 WHERE seq = ?1");
  st.bind(1, seq).bind(2, result);
  st.step();
  Statement gc(db_, "DELETE FROM admin_command WHERE done = 1 AND requested_unix < ?1");
  gc.bind(1, static_cast<std::int64_t>(std::time(nullptr)) - 86400);
  gc.step();
}

std::optional<AdminCommand> StateDb::command(std::int64_t seq) {
  std::lock_guard lock(mutex_);
  Statement st(db_, "SELECT seq, verb, message_id, done, result FROM admin_command WHERE seq = ?1");
  st.bind(1, seq);
  if (!st.step()) return std::nullopt;
  return AdminCommand{st.integer(0), st.text(1), st.text(2), st.integer(3) != 0, st.text(4)};
}

bool StateDb::changed_by_others() {
  std::lock_guard lock(mutex_);
  Statement st(db_, "PRAGMA data_version");
  std::int64_t v = st.step() ? st.integer(0) : 0;
  bool changed = data_version_ >= 0 && v != data_version_;
  data_version_ = v;
  return changed;
}

}  // namespace mailroom::queue
