// smtp/mail_args: the argument text of MAIL FROM and RCPT TO: the path (RFC 5321 4.1.1.2-3,
// 4.1.2) and the ESMTP parameters mailroom announces: SIZE (RFC 1870), BODY (RFC 6152, RFC 3030),
// RET/ENVID/NOTIFY/ORCPT (RFC 3461), SMTPUTF8 (RFC 6531), AUTH (RFC 4954 5).
//
// Lenient where real clients are sloppy (the seed documents type "MAIL FROM: <a@b>" and
// "mail from:a@b"), strict about everything that changes meaning: unknown or repeated
// parameters, malformed values and xtext are refused with a precise 501. The local part keeps
// '%', '!' and quoted '@' as received (see smtp/address.hpp) so relay policy sees them.
// Never: allocate more than a small multiple of the input, or accept control characters in a
// decoded parameter value (they would end up in queue files and DSN headers).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/address.hpp"
#include "smtp/parse_result.hpp"

namespace mailroom::smtp {

enum class BodyType { Unspecified, SevenBit, EightBitMime, BinaryMime };

struct MailArgs {
  Address sender;
  std::optional<std::uint64_t> size;      // SIZE= (RFC 1870)
  BodyType body = BodyType::Unspecified;  // BODY= (RFC 6152, RFC 3030)
  std::string ret;                        // RET=FULL|HDRS (RFC 3461), uppercased
  std::string envid;                      // ENVID= xtext-decoded (RFC 3461)
  bool smtputf8 = false;                  // SMTPUTF8 (RFC 6531)
  std::string auth;                       // AUTH= (RFC 4954 5), xtext-decoded, may be "<>"
};

// NOTIFY bit flags (RFC 3461 4.1). kNotifyDefault: the parameter was absent, which asks for
// failure and delay notifications (RFC 3461 4.1); NEVER is never combined with another bit.
inline constexpr unsigned kNotifyDefault = 0;
inline constexpr unsigned kNotifyNever = 1;
inline constexpr unsigned kNotifySuccess = 2;
inline constexpr unsigned kNotifyFailure = 4;
inline constexpr unsigned kNotifyDelay = 8;

struct RcptArgs {
  Address recipient;
  unsigned notify = kNotifyDefault;  // kNotify* bits
  std::string orcpt;                 // "<addr-type>;<address>", addr-type lowercased, xtext decoded
};

// RFC 3461 4.4 / 4.2 value limits, measured on the encoded parameter value.
inline constexpr std::size_t kMaxEnvidBytes = 100;
inline constexpr std::size_t kMaxOrcptBytes = 500;

// `args` is Command::args for MAIL ("FROM:<a@b> SIZE=1").
//   missing "FROM:" / empty path     -> replies::invalid_arguments()        501 5.5.4
//   bad sender syntax or too long    -> replies::invalid_address()          550 5.1.7
//   non-ASCII without SMTPUTF8       -> replies::smtputf8_required()        553 5.6.7
//   unknown / repeated / bad params  -> 501 5.5.4 (replies::unrecognized_parameter() for unknown)
ParseResult<MailArgs> parse_mail_args(std::string_view args);
// `args` is Command::args for RCPT ("TO:<a@b> NOTIFY=SUCCESS"). "<Postmaster>" without a domain is
// accepted here only (RFC 5321 4.1.1.3). smtputf8_in_tx: MAIL FROM carried SMTPUTF8.
//   bad recipient syntax or too long -> replies::invalid_recipient_syntax() 501 5.1.3
ParseResult<RcptArgs> parse_rcpt_args(std::string_view args, bool smtputf8_in_tx);

// RFC 3461 4: xtext = *( xchar / "+" 2HEXCHAR ). Lowercase hex is tolerated on input.
std::optional<std::string> xtext_decode(std::string_view text);
std::string xtext_encode(std::string_view raw);

}  // namespace mailroom::smtp
