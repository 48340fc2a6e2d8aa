// directory/pg_store: the PostgreSQL backend (libpq), so several mailroom nodes behind one MX set
// share one directory. Same tables as SQLite (sql_store.hpp), created on first use under an
// advisory lock so two nodes starting together do not race. Writers serialise on the change
// counter row (SELECT ... FOR UPDATE) and then read the latest committed data.
//
// Never puts the URL's password into an error message or a log line. A lost connection is
// re-established (PQreset) before the next statement; until then the caller sees StoreError.
#pragma once

#include <memory>
#include <string>

#include "directory/store.hpp"

namespace mailroom::directory {

inline constexpr const char* kPgConnectTimeoutS = "5";

// `url` is a libpq connection URI (postgresql://user[:password]@host:port/db?...). Throws
// StoreError when unreachable, refused or the schema is newer than this program.
std::unique_ptr<Store> open_pg_store(const std::string& url);

// "postgresql://user@host:port/db" for messages: the URL without its password.
std::string redact_pg_url(const std::string& url);

}  // namespace mailroom::directory
