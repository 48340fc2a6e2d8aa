// directory: who exists here, and with what password.
//
// Owns local domains, mailboxes (users with argon2id password hashes), aliases (one address to
// many, catch-all `@domain`, plus-addressing) and the RFC 5321 4.5.1 postmaster rule. Backends:
// SQLite (embedded default, data_dir/directory.db) and PostgreSQL (shared by several nodes).
//
// Threading: every method is safe to call from any thread. `is_local_domain` and `resolve` answer
// from an in-memory snapshot (refreshed within a second of a change made by `mailroom user|alias|
// domain` in another process) and never block on I/O, so the server calls them on its event loop.
// `verify_password` runs argon2id (tens of ms by design): call it off the event loop.
// Never logs or returns a password or hash.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace mailroom::directory {

// A final delivery target in a local domain.
struct Mailbox {
  std::string user;    // local part, lowercased canonical form ("kate")
  std::string domain;  // lowercased ("example.test")
  std::string folder;  // plus-address tag that selected this target ("" if none), for Maildir++
  std::string address() const { return user + "@" + domain; }
};

struct Resolution {
  enum class Status {
    Ok,           // mailboxes (local) and/or forwards (non-local addresses an alias points to)
    UnknownUser,  // local domain, nothing matches: 550 5.1.1
    NotLocal,     // domain is not one of ours: relay policy decides
    AliasError,   // loop, depth or fan-out limit exceeded: 550 5.4.6 (RFC 3463 routing loop)
  };
  Status status = Status::UnknownUser;
  std::vector<Mailbox> mailboxes;
  std::vector<std::string> forwards;
  std::string error;  // for AliasError: what went wrong, for the log and the reply detail
};

class Directory {
 public:
  virtual ~Directory() = default;

  // Domains from the config plus those added with `mailroom domain add`. Case-insensitive;
  // a trailing dot is ignored.
  virtual bool is_local_domain(std::string_view domain) const = 0;
  virtual std::vector<std::string> local_domains() const = 0;

  // Expands `address` (local@domain, any case) through aliases, catch-alls and plus-addressing
  // down to mailboxes. postmaster@<local domain> always resolves (RFC 5321 4.5.1): to its
  // mailbox, alias or catch-all if the administrator set one, else to the first domain's
  // postmaster, and in the end to the dedicated mailbox postmaster@<first domain> (resolver.hpp).
  virtual Resolution resolve(std::string_view address) const = 0;

  // True when `address` names a mailbox with that password. A name without '@' (a bare login
  // name such as "logon") is looked up in the first local domain. Constant-time with respect to the
  // password; unknown users cost the same as wrong passwords (a dummy hash is verified).
  virtual bool verify_password(std::string_view address, std::string_view password) const = 0;
};

// Opens the configured backend. Throws std::runtime_error with one clear line if the database is
// corrupt, locked or unreachable: the server exits rather than run with an empty directory.
std::shared_ptr<Directory> open_directory(const config::Config& cfg);

}  // namespace mailroom::directory
