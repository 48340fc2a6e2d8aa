// directory/resolver: expands a recipient address against a Snapshot, down to mailboxes and
// forwards. Pure (no I/O, no locks), so it is unit-tested on hand-built snapshots and shared by
// the server's lookups and the admin commands' alias checks.
//
// Rules, in order, for local@domain in a local domain (first match wins):
//   1. local@domain is a mailbox, or an alias (expanded recursively);
//   2. plus-addressing (when enabled): local = base<delim>tag and rule 1 matches base; a mailbox
//      reached this way gets folder = tag when tag is a safe folder name ([a-z0-9_-]), else "";
//   3. the catch-all alias @domain;
//   4. postmaster@domain (any case), which RFC 5321 4.5.1 says must always be accepted, with no
//      rule above: postmaster@<first local domain> (rules 1-3 there), and failing that the
//      dedicated mailbox postmaster@<first local domain>, whose Maildir keeps the mail until the
//      administrator reads it (`mailroom user add postmaster@...`) or routes it (`mailroom alias
//      add postmaster@... someone`). Postmaster mail never lands in a user's inbox by default:
//      where it goes is the administrator's visible choice (`mailroom alias list` shows it).
// A local part containing '@', '%', '!' or '/' never matches anything, not even a catch-all
// (see address.hpp: open-relay tricks). Alias expansion detects loops (an alias reached again
// on its own path), and stops past max_alias_depth nested aliases or max_alias_fanout results:
// Status::AliasError. Targets in local domains that match nothing are skipped; when nothing is
// left the result is UnknownUser.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/config.hpp"
#include "directory/directory.hpp"
#include "directory/snapshot.hpp"

namespace mailroom::directory {

struct ResolveOptions {
  bool plus_addressing = true;
  char recipient_delimiter = '+';
  std::uint32_t max_alias_depth = 10;
  std::uint32_t max_alias_fanout = 1000;

  static ResolveOptions from(const config::DirectoryConfig& cfg);
};

Resolution resolve_address(const Snapshot& snapshot, std::string_view address,
                           const ResolveOptions& options);

// Expands one alias by its stored source ("local@domain" or catch-all "@domain") with the same
// rules and limits, for checking an alias as a whole (the admin commands reject changes that
// would make an alias loop or exceed the limits).
Resolution expand_alias(const Snapshot& snapshot, const std::string& source,
                        const ResolveOptions& options);

}  // namespace mailroom::directory
