// smtp/auth: the pure parts of SMTP AUTH (RFC 4954) and the PLAIN mechanism (RFC 4616); the
// LOGIN exchange is driven by the session with base64_decode.
//
// Base64 is libsodium's strict decoder (padding required, no whitespace, canonical trailing
// bits), so "dGVzdA" and "dGVzdA==\x20" are refused rather than guessed at.
// Never: log or keep credentials beyond the returned value, or accept NULs inside a PLAIN field.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "smtp/parse_result.hpp"

namespace mailroom::smtp {

struct AuthArgs {
  std::string mechanism;                        // uppercased SASL mechanism name
  std::optional<std::string> initial_response;  // still base64; "=" becomes "" (RFC 4954 4)
};

// "PLAIN", "PLAIN dGVzdA==", "login =". A mechanism must be 1-20 of [A-Z0-9-_] (RFC 4422 3.1);
// missing or malformed mechanism or extra tokens -> replies::invalid_arguments() (501 5.5.4).
// Whether the mechanism is offered is the session's decision (504 5.5.4).
ParseResult<AuthArgs> parse_auth_args(std::string_view args);

// Strict base64 (RFC 4648 4, padded); nullopt on bad input. "" decodes to "".
std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view raw);

struct PlainCredentials {
  std::string authzid, authcid, password;
};
// authzid NUL authcid NUL passwd (RFC 4616 2): exactly two NULs, authcid and passwd non-empty,
// each field at most 255 octets.
std::optional<PlainCredentials> parse_auth_plain(std::string_view decoded);

}  // namespace mailroom::smtp
