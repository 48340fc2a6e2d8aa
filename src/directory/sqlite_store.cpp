// SQLite connection for the shared SQL store; see sqlite_store.hpp for the contract.
#include "directory/sqlite_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "directory/sql_store.hpp"

namespace mailroom::directory {
namespace {

constexpr const char* kSchemaSql = R"sql(
CREATE TABLE IF NOT EXISTS mailroom_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS mailroom_domains (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS mailroom_users (
  id INTEGER PRIMARY KEY AUTOINCREMENT, address TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mailroom_aliases (
  id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, target TEXT NOT NULL,
  UNIQUE (source, target));
INSERT OR IGNORE INTO mailroom_meta (name, value) VALUES ('schema_version', 1);
INSERT OR IGNORE INTO mailroom_meta (name, value) VALUES ('change_counter', 0);
)sql";

class SqliteConnection final : public SqlConnection {
 public:
  explicit SqliteConnection(std::string path) : path_(std::move(path)) {
    try {
      open();
    } catch (...) {
      sqlite3_close(db_);
      throw;
    }
  }

  ~SqliteConnection() override { sqlite3_close(db_); }

  std::string describe() const override { return "directory database " + path_; }

  void begin_read() override { exec("BEGIN DEFERRED", {}); }
  void begin_write() override { exec("BEGIN IMMEDIATE", {}); }
  void commit() override { exec("COMMIT", {}); }
  void rollback() noexcept override {
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

 private:
  void open() {
    create_file_if_missing();
    int rc =
        sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      throw StoreError(fmt::format("{}: {}", describe(), why));
    }
    sqlite3_busy_timeout(db_, kSqliteBusyTimeoutMs);
    auto mode = query("PRAGMA journal_mode=WAL", {});
    if (mode.empty() || mode[0].empty() || mode[0][0] != "wal")
      throw StoreError(fmt::format("{}: cannot switch to WAL mode", describe()));
    auto check = query("PRAGMA quick_check", {});
    if (check.empty() || check[0].empty() || check[0][0] != "ok") {
      throw StoreError(fmt::format("{}: database is corrupt ({})", describe(),
                                   check.empty() || check[0].empty() ? "?" : check[0][0]));
    }
    begin_write();
    try {
      exec_script(kSchemaSql);
      commit();
    } catch (...) {
      rollback();
      throw;
    }
  }

  [[noreturn]] void fail() const {
    throw StoreError(fmt::format("{}: {}", describe(), sqlite3_errmsg(db_)));
  }

  // The file holds password hashes: create it owner-only before SQLite does (SQLite gives its
  // -wal and -shm files the database file's permissions).
  void create_file_if_missing() {
    std::filesystem::path p(path_);
    std::error_code ec;
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
    if (ec)
      throw StoreError(fmt::format("{}: cannot create directory: {}", describe(), ec.message()));
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
    } else if (errno != EEXIST) {
      throw StoreError(fmt::format("{}: {}", describe(), std::strerror(errno)));
    }
  }

  void exec_script(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      std::string why = error ? error : "unknown error";
      sqlite3_free(error);
      throw StoreError(fmt::format("{}: {}", describe(), why));
    }
  }

  void run(const std::string& sql, const std::vector<std::string>& params,
           std::vector<SqlRow>* rows) override {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK)
      fail();
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(stmt, sqlite3_finalize);
    for (std::size_t i = 0; i < params.size(); ++i) {
      std::string name = fmt::format("${}", i + 1);
      int index = sqlite3_bind_parameter_index(stmt, name.c_str());
      if (index == 0) continue;
      if (sqlite3_bind_text(stmt, index, params[i].data(), static_cast<int>(params[i].size()),
                            SQLITE_TRANSIENT) != SQLITE_OK)
        fail();
    }
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return;
      if (rc != SQLITE_ROW) fail();
      if (!rows) continue;
      SqlRow row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        row.emplace_back(text ? text : "");
      }
      rows->push_back(std::move(row));
    }
  }

  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path) {
  return std::make_unique<SqlStore>(std::make_unique<SqliteConnection>(path));
}

}  // namespace mailroom::directory
