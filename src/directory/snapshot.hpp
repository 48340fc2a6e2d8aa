// directory/snapshot: the directory's contents as rows (what a backend stores and loads) and as
// an immutable, indexed in-memory snapshot (what lookups read).
//
// A Snapshot is built once and never modified, so any number of threads may read one while the
// refresher builds its successor. It holds password hashes (never passwords); never log it.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace mailroom::directory {

struct UserRow {
  std::string address;        // canonical "local@domain"
  std::string password_hash;  // crypto_pwhash_str output
};

struct AliasRow {
  std::string source;  // canonical "local@domain" or "@domain" (catch-all)
  std::string target;  // "local@domain"; local part case kept for non-local targets
};

// Everything a backend holds, in creation order.
struct DirectoryData {
  std::vector<std::string> domains;  // added with `mailroom domain add`
  std::vector<UserRow> users;
  std::vector<AliasRow> aliases;
  std::int64_t change_counter = 0;  // bumped by every committed mutation
};

struct Snapshot {
  std::vector<std::string> domains;  // config domains first, then added ones; canonical, unique
  std::unordered_set<std::string> domain_set;
  std::unordered_map<std::string, std::string> password_hashes;       // address -> hash
  std::unordered_map<std::string, std::vector<std::string>> aliases;  // source -> targets
  std::int64_t change_counter = 0;

  // `config_domains` are the config's local_domains; invalid ones are skipped (the config
  // loader already rejected them).
  static Snapshot build(const DirectoryData& data, const std::vector<std::string>& config_domains);

  bool is_local_domain(const std::string& canonical) const { return domain_set.count(canonical); }
  bool is_user(const std::string& address) const { return password_hashes.count(address); }
  const std::vector<std::string>* alias_targets(const std::string& source) const;
};

}  // namespace mailroom::directory
