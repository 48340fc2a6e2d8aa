// smtp/ehlo_keywords: the EHLO extension lines mailroom announces (RFC 5321 4.1.1.1), in the
// order the seed documents show them. What is announced must match what the parsers accept:
// SIZE (RFC 1870), PIPELINING (RFC 2920), DSN (RFC 3461), ENHANCEDSTATUSCODES (RFC 2034),
// STARTTLS (RFC 3207), AUTH (RFC 4954), 8BITMIME (RFC 6152), BINARYMIME and CHUNKING (RFC 3030),
// SMTPUTF8 (RFC 6531).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mailroom::smtp {

struct Capabilities {
  std::uint64_t max_size;  // 0 announces "SIZE" without a limit (RFC 1870 4)
  bool starttls;           // offer STARTTLS (not yet in TLS, TLS configured)
  bool auth;               // offer AUTH PLAIN LOGIN
};

// "SIZE <n>", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS" (if starttls),
// "AUTH PLAIN LOGIN" (if auth), "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8".
std::vector<std::string> ehlo_keywords(const Capabilities& caps);

}  // namespace mailroom::smtp
