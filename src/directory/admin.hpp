// directory/admin: the changes `mailroom user|alias|domain` make, validated against the current
// contents inside the backend's write transaction (so two admins cannot race past a check).
//
// Every rejected change throws AdminError (BadInput: invalid syntax, duplicate, unknown domain,
// empty password, a change that would make an alias loop or exceed the expansion limits;
// NotFound: deleting or changing what does not exist) and leaves the database unchanged.
// Database failures throw StoreError. Passwords are hashed here and never stored, logged or
// put into an error message.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "directory/resolver.hpp"
#include "directory/store.hpp"

namespace mailroom::directory {

class AdminError : public std::runtime_error {
 public:
  enum class Kind { BadInput, NotFound };
  AdminError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct AliasEntry {
  std::string source;
  std::vector<std::string> targets;
};

// Where mail to one local domain's postmaster goes (resolver.hpp, rule 4), for `alias list`.
struct PostmasterRoute {
  std::string address;  // "postmaster@example.org"
  // What decides it: "mailbox", "alias", "catch-all @<domain>", "default: as postmaster@<first
  // domain>", or "default" (the dedicated mailbox postmaster@<first domain>).
  std::string rule;
  std::vector<std::string> destinations;  // mailboxes and forwards it reaches (or an alias error)
  // One destination is the dedicated mailbox postmaster@<first domain>, which nobody can log
  // into until the administrator creates that user or routes postmaster elsewhere.
  bool default_mailbox = false;
};

inline constexpr std::size_t kMaxPasswordBytes = 1024;

class DirectoryAdmin {
 public:
  DirectoryAdmin(std::unique_ptr<Store> store, const config::Config& cfg);

  // Opens the configured backend (open_store).
  static DirectoryAdmin open(const config::Config& cfg);

  // A domain from the config cannot be added again or deleted here; a domain still used by a
  // mailbox or an alias cannot be deleted.
  void add_domain(std::string_view domain);
  void delete_domain(std::string_view domain);
  std::vector<std::string> domains();  // all local domains: config first, then added

  // Mailboxes live in local domains; a mailbox and an alias never share an address.
  void add_user(std::string_view address, std::string_view password);
  // Deletes the mailbox and, in the same transaction, every alias target naming it (an alias
  // left without targets goes too), so no alias points at a mailbox that no longer exists.
  // Returns what was removed from aliases, as "source -> target" lines (empty: nothing).
  std::vector<std::string> delete_user(std::string_view address);
  void set_password(std::string_view address, std::string_view password);
  std::vector<std::string> users();  // creation order

  // Adds targets to the alias `source` ("list@domain" or catch-all "@domain"), creating it.
  // Local targets must resolve; non-local ones are forwards.
  void add_alias(std::string_view source, const std::vector<std::string>& targets);
  // Deletes the given targets, or the whole alias when `targets` is empty.
  void delete_alias(std::string_view source, const std::vector<std::string>& targets = {});
  std::vector<AliasEntry> aliases();
  // One entry per local domain, in domain order.
  std::vector<PostmasterRoute> postmaster_routes();

 private:
  Snapshot snapshot_of(const DirectoryData& data) const;

  std::unique_ptr<Store> store_;
  std::vector<std::string> config_domains_;
  ResolveOptions options_;
};

}  // namespace mailroom::directory
