// smtp/client_commands: the command lines an SMTP/LMTP client sends (RFC 5321 4.1.1, RFC 2033
// 4.1), with the parameters of SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), DSN (RFC 3461: RET,
// ENVID, NOTIFY, ORCPT; xtext where 4.2-4.4 say so), SMTPUTF8 (RFC 6531), AUTH= (RFC 4954 5),
// BDAT (RFC 3030 2) and AUTH PLAIN/LOGIN/XOAUTH2 (RFC 4954, RFC 4616, Google's XOAUTH2).
// The inverse of smtp/command + smtp/mail_args: parse_mail_args() of what mail_command() built
// gives back the same values.
//
// Caller data is checked, never repaired: a CR, LF, NUL or other control octet in a domain,
// address or parameter, an address that is not a mailbox (a '>' or SP would end the path and
// start a parameter of the attacker's choosing), or a value outside its RFC syntax is an error
// and no line is built. Secrets go out base64-encoded, so they may hold any octet their
// mechanism's format allows.
// Which parameters to send (only those the server offered) is the session's decision.
// Never: return a line holding CR or LF anywhere but its final CRLF.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/mail_args.hpp"

namespace mailroom::smtp {

enum class CommandError : std::uint8_t {
  None,
  ForbiddenByte,   // CR, LF, NUL or another control octet in caller data
  BadDomain,       // EHLO/HELO/LHLO argument is neither a domain nor an address literal
  BadAddress,      // a path that is not a valid mailbox (or too long, RFC 5321 4.5.3.1.3)
  BadParameter,    // RET not FULL/HDRS, ENVID/ORCPT too long or not printable ASCII, NOTIFY=NEVER
                   // combined with others, ORCPT without "type;address"
  BadCredentials,  // empty name or secret, NUL in a PLAIN field, ^A in an XOAUTH2 field,
                   // a PLAIN field over 255 octets (RFC 4616 2)
};

std::string_view command_error_name(CommandError error);  // "forbidden-byte", ...

// A command line ready to send, CRLF included, or why it could not be built.
struct CommandLine {
  std::string wire;  // empty on error
  CommandError error = CommandError::None;
  bool ok() const { return error == CommandError::None; }
};

CommandLine ehlo_command(std::string_view domain);  // "EHLO mx.example.com\r\n"
CommandLine lhlo_command(std::string_view domain);  // RFC 2033 4.1
CommandLine helo_command(std::string_view domain);

struct MailParams {
  std::string sender;                     // reverse-path without brackets; "" is <>
  std::optional<std::uint64_t> size;      // SIZE=
  BodyType body = BodyType::Unspecified;  // BODY=7BIT|8BITMIME|BINARYMIME
  std::string ret;                        // "FULL", "HDRS" (any case) or "" for none
  std::string envid;                      // raw; sent as xtext; "" for none
  bool smtputf8 = false;                  // SMTPUTF8
  std::optional<std::string> auth;        // AUTH= identity, raw; "" sends AUTH=<>
};
// "MAIL FROM:<a@b> SIZE=10 BODY=8BITMIME RET=HDRS ENVID=x SMTPUTF8 AUTH=a+2Bb@c\r\n"
CommandLine mail_command(const MailParams& params);

struct RcptParams {
  std::string recipient;  // mailbox without brackets, or "Postmaster" (RFC 5321 4.1.1.3)
  unsigned notify = 0;    // kNotify* bits from smtp/mail_args.hpp; 0 sends no NOTIFY
  std::string orcpt;      // "rfc822;kate@example.com", address raw (as the queue stores it)
};
// "RCPT TO:<k@e> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;k@e\r\n"
CommandLine rcpt_command(const RcptParams& params);

std::string bdat_command(std::uint64_t size, bool last);  // "BDAT 1000 LAST\r\n"

inline constexpr std::string_view kDataCommand = "DATA\r\n";
inline constexpr std::string_view kRsetCommand = "RSET\r\n";
inline constexpr std::string_view kNoopCommand = "NOOP\r\n";
inline constexpr std::string_view kQuitCommand = "QUIT\r\n";
inline constexpr std::string_view kStartTlsCommand = "STARTTLS\r\n";
inline constexpr std::string_view kAuthLoginCommand = "AUTH LOGIN\r\n";
inline constexpr std::string_view kAuthCancel = "*\r\n";    // RFC 4954 4
inline constexpr std::string_view kEmptyDataEnd = ".\r\n";  // RFC 2920 3.1: 354, no recipient

// "AUTH PLAIN <base64(authzid NUL authcid NUL password)>\r\n" (RFC 4616 2, initial response).
CommandLine auth_plain_command(std::string_view authzid, std::string_view authcid,
                               std::string_view password);
// The base64 answer to a 334 challenge (AUTH LOGIN's username and password steps); an empty
// response is an empty line (RFC 4954 4).
std::string auth_response(std::string_view raw);
// "AUTH XOAUTH2 <base64("user=" user ^A "auth=Bearer " token ^A ^A)>\r\n".
CommandLine xoauth2_command(std::string_view user, std::string_view token);

// True if `s` holds an octet no command may carry from caller data: C0 controls and DEL.
bool has_control_octet(std::string_view s);

}  // namespace mailroom::smtp
