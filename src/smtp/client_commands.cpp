#include "smtp/client_commands.hpp"

#include <fmt/format.h>

#include "smtp/address.hpp"
#include "smtp/auth.hpp"
#include "util/ascii.hpp"

namespace mailroom::smtp {

namespace {

constexpr std::size_t kMaxPlainFieldBytes = 255;  // RFC 4616 2
constexpr std::size_t kMaxAuthParamBytes = 500;   // what smtp/mail_args accepts for AUTH=

CommandLine failure(CommandError e) { return CommandLine{std::string(), e}; }
CommandLine line(std::string text) { return CommandLine{std::move(text) + "\r\n"}; }

bool is_printable_ascii(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) return false;
  }
  return true;
}

CommandLine hello(std::string_view verb, std::string_view domain) {
  if (has_control_octet(domain)) return failure(CommandError::ForbiddenByte);
  if (!is_valid_helo_argument(domain)) return failure(CommandError::BadDomain);
  return line(fmt::format("{} {}", verb, domain));
}

// The path must read back as exactly this mailbox: anything parse_mailbox refuses could end the
// path early ("a@b> NOTIFY=NEVER") or carry a second command.
CommandError check_path(std::string_view mailbox, bool postmaster_ok) {
  if (has_control_octet(mailbox)) return CommandError::ForbiddenByte;
  if (postmaster_ok && util::iequals(mailbox, "postmaster")) return CommandError::None;
  if (mailbox.size() + 2 > kMaxPathBytes || !parse_mailbox(mailbox).ok()) {
    return CommandError::BadAddress;
  }
  return CommandError::None;
}

// RFC 5321 4.1.2: esmtp-keyword; ORCPT's addr-type is one ("rfc822", "utf-8").
bool is_keyword(std::string_view k) {
  if (k.empty() || !util::is_ascii_alnum(k.front())) return false;
  for (char c : k) {
    if (!util::is_ascii_alnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

std::string_view command_error_name(CommandError error) {
  switch (error) {
    case CommandError::None:
      return "none";
    case CommandError::ForbiddenByte:
      return "forbidden-byte";
    case CommandError::BadDomain:
      return "bad-domain";
    case CommandError::BadAddress:
      return "bad-address";
    case CommandError::BadParameter:
      return "bad-parameter";
    case CommandError::BadCredentials:
      return "bad-credentials";
  }
  return "unknown";
}

bool has_control_octet(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

CommandLine ehlo_command(std::string_view domain) { return hello("EHLO", domain); }
CommandLine lhlo_command(std::string_view domain) { return hello("LHLO", domain); }
CommandLine helo_command(std::string_view domain) { return hello("HELO", domain); }

CommandLine mail_command(const MailParams& p) {
  if (!p.sender.empty()) {
    if (auto e = check_path(p.sender, false); e != CommandError::None) return failure(e);
  }
  std::string text = fmt::format("MAIL FROM:<{}>", p.sender);
  if (p.size) text += fmt::format(" SIZE={}", *p.size);
  switch (p.body) {
    case BodyType::Unspecified:
      break;
    case BodyType::SevenBit:
      text += " BODY=7BIT";
      break;
    case BodyType::EightBitMime:
      text += " BODY=8BITMIME";
      break;
    case BodyType::BinaryMime:
      text += " BODY=BINARYMIME";
      break;
  }
  if (!p.ret.empty()) {
    if (has_control_octet(p.ret)) return failure(CommandError::ForbiddenByte);
    if (!util::iequals(p.ret, "FULL") && !util::iequals(p.ret, "HDRS")) {
      return failure(CommandError::BadParameter);
    }
    text += " RET=" + util::to_ascii_upper(p.ret);
  }
  if (!p.envid.empty()) {
    if (has_control_octet(p.envid)) return failure(CommandError::ForbiddenByte);
    // RFC 3461 4.4: printable US-ASCII, at most 100 octets as xtext.
    std::string encoded = xtext_encode(p.envid);
    if (!is_printable_ascii(p.envid) || encoded.size() > kMaxEnvidBytes) {
      return failure(CommandError::BadParameter);
    }
    text += " ENVID=" + encoded;
  }
  if (p.smtputf8) text += " SMTPUTF8";
  if (p.auth) {
    if (has_control_octet(*p.auth)) return failure(CommandError::ForbiddenByte);
    // RFC 4954 5: AUTH=<> when the identity is unknown or not trusted.
    std::string encoded = p.auth->empty() ? "<>" : xtext_encode(*p.auth);
    if (encoded.size() > kMaxAuthParamBytes) return failure(CommandError::BadParameter);
    text += " AUTH=" + encoded;
  }
  return line(std::move(text));
}

CommandLine rcpt_command(const RcptParams& p) {
  if (auto e = check_path(p.recipient, true); e != CommandError::None) return failure(e);
  std::string text = fmt::format("RCPT TO:<{}>", p.recipient);
  if (p.notify != 0) {
    constexpr unsigned kAll = kNotifyNever | kNotifySuccess | kNotifyFailure | kNotifyDelay;
    // RFC 3461 4.1: NEVER stands alone.
    if ((p.notify & ~kAll) != 0 || ((p.notify & kNotifyNever) && p.notify != kNotifyNever)) {
      return failure(CommandError::BadParameter);
    }
    std::string list;
    auto add = [&](unsigned bit, std::string_view name) {
      if (!(p.notify & bit)) return;
      if (!list.empty()) list += ',';
      list += name;
    };
    add(kNotifyNever, "NEVER");
    add(kNotifySuccess, "SUCCESS");
    add(kNotifyFailure, "FAILURE");
    add(kNotifyDelay, "DELAY");
    text += " NOTIFY=" + list;
  }
  if (!p.orcpt.empty()) {
    if (has_control_octet(p.orcpt)) return failure(CommandError::ForbiddenByte);
    // RFC 3461 4.2: ORCPT=addr-type ";" xtext; an address outside printable ASCII would need
    // RFC 6533's utf-8-addr form, which no server mailroom talks to reads back identically.
    std::size_t semi = p.orcpt.find(';');
    if (semi == std::string::npos) return failure(CommandError::BadParameter);
    std::string_view type = std::string_view(p.orcpt).substr(0, semi);
    std::string_view address = std::string_view(p.orcpt).substr(semi + 1);
    if (!is_keyword(type) || address.empty() || !is_printable_ascii(address)) {
      return failure(CommandError::BadParameter);
    }
    std::string value = fmt::format("{};{}", type, xtext_encode(address));
    if (value.size() > kMaxOrcptBytes) return failure(CommandError::BadParameter);
    text += " ORCPT=" + value;
  }
  return line(std::move(text));
}

std::string bdat_command(std::uint64_t size, bool last) {
  return fmt::format("BDAT {}{}\r\n", size, last ? " LAST" : "");
}

CommandLine auth_plain_command(std::string_view authzid, std::string_view authcid,
                               std::string_view password) {
  // A NUL inside a field would move the field boundaries (RFC 4616 2): another identity.
  for (std::string_view field : {authzid, authcid, password}) {
    if (field.find('\0') != std::string_view::npos || field.size() > kMaxPlainFieldBytes) {
      return failure(CommandError::BadCredentials);
    }
  }
  if (authcid.empty() || password.empty()) return failure(CommandError::BadCredentials);
  std::string message;
  message.append(authzid).push_back('\0');
  message.append(authcid).push_back('\0');
  message.append(password);
  return line("AUTH PLAIN " + base64_encode(message));
}

std::string auth_response(std::string_view raw) { return base64_encode(raw) + "\r\n"; }

CommandLine xoauth2_command(std::string_view user, std::string_view token) {
  for (std::string_view field : {user, token}) {
    if (field.empty() || has_control_octet(field)) return failure(CommandError::BadCredentials);
  }
  std::string message = fmt::format(
      "user={}\x01"
      "auth=Bearer {}\x01\x01",
      user, token);
  return line("AUTH XOAUTH2 " + base64_encode(message));
}

}  // namespace mailroom::smtp
