// directory/sqlite_store: the embedded default backend, one SQLite file (data_dir/directory.db).
//
// WAL mode, so the server's refresher reads while an admin command writes; a busy timeout, so
// two admin commands queue instead of failing. The file is created mode 0600 (it holds password
// hashes). Opening checks the file (quick_check) and takes the write lock once, so a corrupt,
// foreign, read-only or locked database is reported at open — never served as an empty one.
#pragma once

#include <memory>
#include <string>

#include "directory/store.hpp"

namespace mailroom::directory {

inline constexpr int kSqliteBusyTimeoutMs = 2000;

// Creates the parent directory and the database if missing. Throws StoreError.
std::unique_ptr<Store> open_sqlite_store(const std::string& path);

}  // namespace mailroom::directory
