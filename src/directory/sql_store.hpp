// directory/sql_store: the Store logic both SQL backends share (schema version check, loading
// rows, applying mutations), over a minimal SqlConnection each backend implements.
//
// The schema (tables mailroom_meta, mailroom_domains, mailroom_users, mailroom_aliases) is the
// same in both; each backend's DDL creates it. SQL text uses $1, $2 placeholders, which both
// PostgreSQL and SQLite (as named parameters) understand.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "directory/store.hpp"

namespace mailroom::directory {

inline constexpr int kSchemaVersion = 1;

using SqlRow = std::vector<std::string>;

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual std::string describe() const = 0;
  // Throw StoreError naming the database.
  void exec(const std::string& sql, const std::vector<std::string>& params = {}) {
    run(sql, params, nullptr);
  }
  std::vector<SqlRow> query(const std::string& sql, const std::vector<std::string>& params = {}) {
    std::vector<SqlRow> rows;
    run(sql, params, &rows);
    return rows;
  }
  virtual void begin_read() = 0;   // a consistent snapshot for several SELECTs
  virtual void begin_write() = 0;  // excludes other writers until commit/rollback
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;

 protected:
  // Runs one statement with $1, $2... bound to `params`; collects the result rows into `rows`
  // unless it is null. Throws StoreError naming the database.
  virtual void run(const std::string& sql, const std::vector<std::string>& params,
                   std::vector<SqlRow>* rows) = 0;
};

class SqlStore final : public Store {
 public:
  // Checks the schema version (throws StoreError if the database is newer than this program).
  explicit SqlStore(std::unique_ptr<SqlConnection> connection);

  std::string describe() const override { return connection_->describe(); }
  std::int64_t change_counter() override;
  DirectoryData load() override;
  void update(const Plan& plan) override;

 private:
  DirectoryData load_rows();
  void apply(const Mutation& mutation);

  std::unique_ptr<SqlConnection> connection_;
};

}  // namespace mailroom::directory
