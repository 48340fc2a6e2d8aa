// smtp/address: mailbox and domain syntax for envelope paths (RFC 5321 4.1.2, 4.1.3, 4.5.3.1)
// with the internationalised extensions of RFC 6531 3.3 (UTF-8 in atext, qtext and U-labels).
//
// The parser represents what the client sent faithfully and decides nothing about routing.
// Open-relay tricks are therefore kept visible for the policy layer to refuse:
//   - percent hack  "user%other.org@local"  -> local_part "user%other.org", domain "local"
//   - bang path     "other!user@local"      -> local_part "other!user"
//   - quoted "@"    "\"a@other.org\"@local"  -> local_part "a@other.org", quoted = true
// Source routes ("<@x,@y:a@b>", RFC 5321 4.1.2 and appendix C) are accepted and discarded.
// Never: resolve anything, allocate beyond the input size, or accept a byte sequence that is not
// well-formed UTF-8 as an address.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailroom::smtp {

// RFC 5321 4.5.3.1.1-3.
inline constexpr std::size_t kMaxLocalPartBytes = 64;
inline constexpr std::size_t kMaxDomainBytes = 255;
inline constexpr std::size_t kMaxPathBytes = 256;  // including "<" and ">"

struct Address {
  std::string local_part;  // as received, quotes removed (quoted-pair unescaped)
  std::string domain;      // lowercased, trailing dot removed; "[192.0.2.1]" / "[IPv6:...]" kept
                           // bracketed (IPv6 in inet_ntop's canonical form); empty for <Postmaster>
  bool is_null = false;    // <>
  bool quoted = false;     // local part was a quoted string
  bool utf8 = false;       // contains non-ASCII (needs SMTPUTF8)

  // Canonical "local@domain", the local part re-quoted if it is not a valid Dot-string; "" for
  // the null path; just the local part for <Postmaster>.
  std::string str() const;
};

enum class AddressError { None, Syntax, TooLong };

struct ParsedAddress {
  Address address;
  AddressError error = AddressError::None;
  bool ok() const { return error == AddressError::None; }
};

// Parses a Mailbox ("local@domain" without angle brackets), accepting UTF-8 anywhere RFC 6531
// allows it (Address::utf8 tells the caller whether SMTPUTF8 is needed). Length limits are the
// RFC 5321 ones above; the path limit is applied by the caller, which sees the brackets.
ParsedAddress parse_mailbox(std::string_view mailbox);

// LDH labels (RFC 5321 4.1.2 Domain; and U-labels of well-formed UTF-8 when allow_utf8), each
// label 1-63 octets for ASCII, total <= 255, one trailing dot tolerated.
bool is_valid_domain(std::string_view d, bool allow_utf8);
// "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3), validated with inet_pton. General
// (tagged) address literals are refused: nothing here can route to them.
bool is_address_literal(std::string_view d);
// What HELO/EHLO accept: a domain (ASCII or UTF-8) that may also hold '_' (as real host names,
// Windows ones above all, do; Postfix accepts them), or an address literal.
bool is_valid_helo_argument(std::string_view arg);
// Lowercases ASCII letters and strips one trailing dot.
std::string normalize_domain(std::string_view d);

// True if `local` can be sent unquoted: a Dot-string of atext (UTF-8 non-ASCII allowed).
bool is_dot_string(std::string_view local);

}  // namespace mailroom::smtp
