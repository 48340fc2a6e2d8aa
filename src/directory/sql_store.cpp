// Shared SQL backend logic; see sql_store.hpp for the contract.
#include "directory/sql_store.hpp"

#include <fmt/format.h>

namespace mailroom::directory {
namespace {

std::int64_t to_int(const std::string& text, const std::string& what) {
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    throw StoreError(fmt::format("{}: bad {} value", what, text));
  }
}

}  // namespace

SqlStore::SqlStore(std::unique_ptr<SqlConnection> connection) : connection_(std::move(connection)) {
  auto rows = connection_->query("SELECT value FROM mailroom_meta WHERE name = 'schema_version'");
  if (rows.empty() || rows[0].empty())
    throw StoreError(fmt::format("{}: schema version missing", describe()));
  auto version = to_int(rows[0][0], describe() + ": schema version");
  if (version > kSchemaVersion) {
    throw StoreError(fmt::format("{}: schema version {} is newer than this mailroom ({})",
                                 describe(), version, kSchemaVersion));
  }
}

std::int64_t SqlStore::change_counter() {
  auto rows = connection_->query("SELECT value FROM mailroom_meta WHERE name = 'change_counter'");
  if (rows.empty() || rows[0].empty())
    throw StoreError(fmt::format("{}: change counter missing", describe()));
  return to_int(rows[0][0], describe() + ": change counter");
}

DirectoryData SqlStore::load_rows() {
  DirectoryData data;
  for (auto& row : connection_->query("SELECT name FROM mailroom_domains ORDER BY id"))
    data.domains.push_back(std::move(row.at(0)));
  for (auto& row :
       connection_->query("SELECT address, password_hash FROM mailroom_users ORDER BY id"))
    data.users.push_back(UserRow{std::move(row.at(0)), std::move(row.at(1))});
  for (auto& row : connection_->query("SELECT source, target FROM mailroom_aliases ORDER BY id"))
    data.aliases.push_back(AliasRow{std::move(row.at(0)), std::move(row.at(1))});
  data.change_counter = change_counter();
  return data;
}

DirectoryData SqlStore::load() {
  connection_->begin_read();
  try {
    auto data = load_rows();
    connection_->commit();
    return data;
  } catch (...) {
    connection_->rollback();
    throw;
  }
}

void SqlStore::update(const Plan& plan) {
  connection_->begin_write();
  try {
    auto mutations = plan(load_rows());
    if (mutations.empty()) {
      connection_->rollback();
      return;
    }
    for (const auto& m : mutations) apply(m);
    connection_->exec("UPDATE mailroom_meta SET value = value + 1 WHERE name = 'change_counter'");
    connection_->commit();
  } catch (...) {
    connection_->rollback();
    throw;
  }
}

void SqlStore::apply(const Mutation& m) {
  using K = Mutation::Kind;
  switch (m.kind) {
    case K::AddDomain:
      connection_->exec("INSERT INTO mailroom_domains (name) VALUES ($1)", {m.key});
      return;
    case K::DeleteDomain:
      connection_->exec("DELETE FROM mailroom_domains WHERE name = $1", {m.key});
      return;
    case K::AddUser:
      connection_->exec("INSERT INTO mailroom_users (address, password_hash) VALUES ($1, $2)",
                        {m.key, m.value});
      return;
    case K::DeleteUser:
      connection_->exec("DELETE FROM mailroom_users WHERE address = $1", {m.key});
      return;
    case K::SetPassword:
      connection_->exec("UPDATE mailroom_users SET password_hash = $2 WHERE address = $1",
                        {m.key, m.value});
      return;
    case K::AddAliasTarget:
      connection_->exec("INSERT INTO mailroom_aliases (source, target) VALUES ($1, $2)",
                        {m.key, m.value});
      return;
    case K::DeleteAlias:
      connection_->exec("DELETE FROM mailroom_aliases WHERE source = $1", {m.key});
      return;
    case K::DeleteAliasTarget:
      connection_->exec("DELETE FROM mailroom_aliases WHERE source = $1 AND target = $2",
                        {m.key, m.value});
      return;
  }
}

}  // namespace mailroom::directory
