// smtp/ehlo_capabilities: what a server's 250 reply to EHLO or LHLO offers (RFC 5321 4.1.1.1),
// read by the client. The other direction of smtp/ehlo_keywords (what mailroom announces):
// parse_ehlo_reply(replies::ehlo(host, ip, ehlo_keywords(caps))) gives back caps.
//
// Keywords are case-insensitive (RFC 5321 2.4). Understood: SIZE (RFC 1870: "SIZE" or "SIZE 0"
// means no fixed limit), PIPELINING (RFC 2920), DSN (RFC 3461), ENHANCEDSTATUSCODES (RFC 2034),
// STARTTLS (RFC 3207), AUTH (RFC 4954; also the pre-standard "AUTH=LOGIN PLAIN" that old
// Exchange and Outlook-era servers send, merged with AUTH), 8BITMIME (RFC 6152), BINARYMIME and
// CHUNKING (RFC 3030), SMTPUTF8 (RFC 6531). Every other line is kept in `unknown` as received:
// X-EXPS, XRDST, and the "XXXXXXXA" that a Cisco PIX/ASA "fixup smtp" writes over a keyword it
// strips (usually STARTTLS, which is then rightly not offered).
// A known keyword with a malformed parameter ("SIZE abc") is not trusted: it goes to `unknown` and
// the capability stays absent, so the client never sends a parameter the server did not offer.
// Never: fail. Any reply gives a value (a HELO or error reply simply offers nothing).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"

namespace mailroom::smtp {

struct EhloCapabilities {
  std::string greeting_domain;        // first word of the first line ("mail1.fabrikam.com")
  std::string greeting_text;          // the rest of the first line ("Hello [172.16.0.5]")
  std::optional<std::uint64_t> size;  // SIZE offered; 0 = no fixed limit
  bool pipelining = false;
  bool dsn = false;
  bool enhanced_status_codes = false;
  bool starttls = false;
  bool auth = false;                         // AUTH offered (possibly with no mechanism listed)
  std::vector<std::string> auth_mechanisms;  // uppercased, in order, no duplicates
  bool eight_bit_mime = false;
  bool binary_mime = false;
  bool chunking = false;
  bool smtputf8 = false;
  std::vector<std::string> unknown;  // other lines as received

  bool offers_auth(std::string_view mechanism) const;  // case-insensitive
  bool operator==(const EhloCapabilities&) const = default;
};

EhloCapabilities parse_ehlo_reply(const Reply& reply);

}  // namespace mailroom::smtp
