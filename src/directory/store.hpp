// directory/store: what a directory backend (SQLite, PostgreSQL) must do — hold the rows and
// apply admin changes atomically. Validation lives above it (admin.hpp), lookups in the caching
// Directory; a Store only moves rows.
//
// A Store is used by one thread at a time (the caching Directory's refresher, or one admin
// command). Every committed change bumps a change counter that other processes poll, which is
// how a running server sees `mailroom user add` within a second. Errors are StoreError with one
// line naming the database (never a password from a URL).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "directory/snapshot.hpp"

namespace mailroom::directory {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Mutation {
  enum class Kind {
    AddDomain,          // key = domain
    DeleteDomain,       // key = domain
    AddUser,            // key = address, value = password hash
    DeleteUser,         // key = address
    SetPassword,        // key = address, value = password hash
    AddAliasTarget,     // key = source, value = target
    DeleteAlias,        // key = source (all its targets)
    DeleteAliasTarget,  // key = source, value = target
  };
  Kind kind;
  std::string key;
  std::string value;
};

class Store {
 public:
  virtual ~Store() = default;

  // "directory database /path" or "directory database postgresql://user@host:port/db".
  virtual std::string describe() const = 0;

  // Cheap: one row. Changes whenever any process commits a change.
  virtual std::int64_t change_counter() = 0;

  // A consistent read of everything (one read transaction).
  virtual DirectoryData load() = 0;

  // One write transaction that excludes other writers: reads the current data, asks `plan` for
  // the mutations, applies them and bumps the change counter. If `plan` throws (the change is
  // invalid), or returns nothing, the database is left unchanged.
  using Plan = std::function<std::vector<Mutation>(const DirectoryData&)>;
  virtual void update(const Plan& plan) = 0;
};

// Opens (and on first use creates) the configured backend's database. Throws StoreError.
std::unique_ptr<Store> open_store(const config::Config& cfg);

}  // namespace mailroom::directory
