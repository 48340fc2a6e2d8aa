// PostgreSQL connection for the shared SQL store; see pg_store.hpp for the contract.
#include "directory/pg_store.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

#include "directory/sql_store.hpp"

namespace mailroom::directory {
namespace {

constexpr const char* kSchemaSql = R"sql(
SELECT pg_advisory_xact_lock(7236837110565089651);
CREATE TABLE IF NOT EXISTS mailroom_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS mailroom_domains (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS mailroom_users (
  id BIGSERIAL PRIMARY KEY, address TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mailroom_aliases (
  id BIGSERIAL PRIMARY KEY, source TEXT NOT NULL, target TEXT NOT NULL, UNIQUE (source, target));
INSERT INTO mailroom_meta (name, value) VALUES ('schema_version', 1), ('change_counter', 0)
  ON CONFLICT DO NOTHING;
)sql";

// libpq messages span lines ("...failed: Connection refused\n\tIs the server running...").
std::string one_line(const char* message) {
  std::string out;
  bool pending_space = false;
  for (const char* p = message ? message : ""; *p; ++p) {
    if (*p == '\n' || *p == '\r' || *p == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += *p;
  }
  return out;
}

void ignore_notice(void*, const char*) {}  // "relation already exists, skipping" etc.

class PgConnection final : public SqlConnection {
 public:
  explicit PgConnection(const std::string& url)
      : description_("directory database " + redact_pg_url(url)) {
    const char* keywords[] = {"connect_timeout", "dbname", nullptr};
    const char* values[] = {kPgConnectTimeoutS, url.c_str(), nullptr};
    conn_ = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
    if (!conn_) throw StoreError(fmt::format("{}: out of memory", description_));
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string why = one_line(PQerrorMessage(conn_));
      PQfinish(conn_);
      throw StoreError(fmt::format("{}: {}", description_, why));
    }
    PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
    begin_write_plain();
    try {
      check(PQexec(conn_, kSchemaSql), nullptr);
      commit();
    } catch (...) {
      rollback();
      PQfinish(conn_);
      throw;
    }
  }

  ~PgConnection() override { PQfinish(conn_); }

  std::string describe() const override { return description_; }

  void begin_read() override { exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}); }
  // READ COMMITTED: once the counter row lock is ours, each later statement sees everything
  // the previous writer committed.
  void begin_write() override {
    begin_write_plain();
    exec("SELECT value FROM mailroom_meta WHERE name = 'change_counter' FOR UPDATE", {});
  }
  void commit() override { exec("COMMIT", {}); }
  void rollback() noexcept override {
    if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE)
      PQclear(PQexec(conn_, "ROLLBACK"));
  }

 private:
  void begin_write_plain() { exec("BEGIN ISOLATION LEVEL READ COMMITTED", {}); }

  void reconnect_if_lost() {
    if (PQstatus(conn_) == CONNECTION_OK) return;
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK)
      throw StoreError(fmt::format("{}: {}", description_, one_line(PQerrorMessage(conn_))));
    PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
  }

  void run(const std::string& sql, const std::vector<std::string>& params,
           std::vector<SqlRow>* rows) override {
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) reconnect_if_lost();
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    check(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                       nullptr, nullptr, 0),
          rows);
  }

  // Takes ownership of `result`; copies its rows out when asked.
  void check(PGresult* result, std::vector<SqlRow>* rows) {
    std::unique_ptr<PGresult, void (*)(PGresult*)> guard(result, PQclear);
    auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      const char* why = result ? PQresultErrorMessage(result) : PQerrorMessage(conn_);
      throw StoreError(fmt::format("{}: {}", description_, one_line(why)));
    }
    if (!rows) return;
    for (int r = 0; r < PQntuples(result); ++r) {
      SqlRow row;
      for (int c = 0; c < PQnfields(result); ++c) row.emplace_back(PQgetvalue(result, r, c));
      rows->push_back(std::move(row));
    }
  }

  std::string description_;
  PGconn* conn_ = nullptr;
};

}  // namespace

std::string redact_pg_url(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (!options) {
    PQfreemem(error);
    return "postgresql://(unparsable URL)";
  }
  std::string user, host, port, dbname;
  for (auto* o = options; o->keyword; ++o) {
    std::string_view key = o->keyword;
    std::string value = o->val ? o->val : "";
    if (key == "user") user = value;
    if (key == "host") host = value;
    if (key == "port") port = value;
    if (key == "dbname") dbname = value;
  }
  PQconninfoFree(options);
  return fmt::format("postgresql://{}{}{}{}/{}", user, user.empty() ? "" : "@", host,
                     port.empty() ? "" : ":" + port, dbname);
}

std::unique_ptr<Store> open_pg_store(const std::string& url) {
  return std::make_unique<SqlStore>(std::make_unique<PgConnection>(url));
}

}  // namespace mailroom::directory
