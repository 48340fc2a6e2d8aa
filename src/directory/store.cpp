// Backend selection; see store.hpp for the contract.
#include "directory/store.hpp"

#include "directory/pg_store.hpp"
#include "directory/sqlite_store.hpp"

namespace mailroom::directory {

std::unique_ptr<Store> open_store(const config::Config& cfg) {
  if (cfg.directory.backend == "postgresql") return open_pg_store(cfg.directory.url);
  return open_sqlite_store(cfg.directory_db_path());
}

}  // namespace mailroom::directory
