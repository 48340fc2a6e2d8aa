// directory/address: the address forms the directory stores and looks up.
//
// Owns canonicalisation (domains and local parts lowercased, one trailing dot on a domain
// dropped) and the syntax the directory accepts: RFC 5321 4.1.2 dot-atom local parts of at most
// 64 octets (4.5.3.1.1), ASCII domains of LDH labels (RFC 1035 2.3.1, RFC 5321 4.1.2) of at most
// 255 octets. Pure: no I/O.
//
// Must never let an address with '@', '%' or '!' in its local part look like a local address:
// "user%other@ours", "other!user@ours" and "\"user@other\"@ours" are the classic ways to make a
// host that matches them (a catch-all, say) forward mail on to a third party — an open relay.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::directory {

struct AddressParts {
  std::string local;   // canonical (lowercased) unless noted otherwise
  std::string domain;  // lowercased, no trailing dot
  std::string joined() const { return local + "@" + domain; }
};

// Lowercased domain without its trailing dot, or nullopt unless it is ASCII LDH labels.
std::optional<std::string> canonical_domain(std::string_view domain);

// True for a local part the directory can store as a mailbox or alias name: a dot-atom of
// atext without '%', '!' or '/' (relay tricks; '/' would also split a Maildir path).
bool is_storable_local_part(std::string_view local);

// "Kate@Example.Test" -> {"kate", "example.test"}; nullopt for anything not storable.
std::optional<AddressParts> parse_mailbox_address(std::string_view address);

// An alias source: a storable address or "@domain" (catch-all; `local` is then empty).
std::optional<AddressParts> parse_alias_source(std::string_view source);

// An alias target: a storable address in a local domain or any syntactically valid address
// elsewhere (a forward). The local part keeps its case: RFC 5321 2.4 lets a remote host treat
// it as case-sensitive. Callers lowercase it when the domain turns out to be local.
std::optional<AddressParts> parse_alias_target(std::string_view target);

// Splits an address as a client sent it (RCPT TO, AUTH identity): the domain after the last
// '@' canonicalised, and the local part unquoted (RFC 5321 4.1.2 quoted-string) and lowercased.
// `local_ok` is false when the local part could never name a local mailbox (empty, not a
// dot-atom once unquoted, or containing '@', '%', '!' or '/').
struct LookupAddress {
  AddressParts parts;
  bool domain_ok = false;
  bool local_ok = false;
};
LookupAddress parse_lookup_address(std::string_view address);

}  // namespace mailroom::directory
