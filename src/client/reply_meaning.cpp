#include "client/reply_meaning.hpp"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace mailroom::client {
namespace {

// RFC 5321 4.2.2, 4.2.3; RFC 4954 (AUTH); RFC 3207 (STARTTLS).
constexpr std::array<std::pair<int, std::string_view>, 33> kCodes{{
    {211, "system status or help reply"},
    {214, "help message"},
    {220, "service ready"},
    {221, "service closing transmission channel"},
    {235, "authentication succeeded"},
    {250, "requested action completed"},
    {251, "user not local; will forward"},
    {252, "cannot verify the user, but will accept the message and attempt delivery"},
    {334, "authentication challenge: send the next part of the exchange (base64)"},
    {354, "start mail input; end with <CRLF>.<CRLF>"},
    {421, "service not available, closing transmission channel"},
    {432, "a password transition is needed"},
    {450, "mailbox unavailable (busy, or blocked by policy for now)"},
    {451, "local error in processing; try again later"},
    {452, "insufficient system storage, or too many recipients"},
    {454, "temporary authentication failure, or TLS not available"},
    {455, "server unable to accommodate the parameters"},
    {500, "syntax error, command unrecognized (or the line was too long)"},
    {501, "syntax error in parameters or arguments"},
    {502, "command not implemented"},
    {503, "bad sequence of commands"},
    {504, "command parameter not implemented"},
    {521, "this host does not accept mail"},
    {530, "authentication required (or STARTTLS first)"},
    {534, "authentication mechanism is too weak"},
    {535, "authentication credentials invalid"},
    {538, "encryption required for the requested authentication mechanism"},
    {550, "mailbox unavailable: not found, no access, or refused by policy"},
    {551, "user not local"},
    {552, "exceeded storage allocation (message too big)"},
    {553, "mailbox name not allowed (bad address syntax)"},
    {554, "transaction failed (or: no SMTP service here)"},
    {555, "MAIL FROM/RCPT TO parameters not recognized or not implemented"},
}};

// RFC 3463 3.1-3.8 subjects.
constexpr std::array<std::string_view, 8> kSubjects{"other or undefined status",
                                                    "addressing status",
                                                    "mailbox status",
                                                    "mail system status",
                                                    "network and routing status",
                                                    "mail delivery protocol status",
                                                    "message content or media status",
                                                    "security or policy status"};

// RFC 3463 details, and the IANA registry's additions (RFC 4468, 4954, 5248, 6531, 7372, 7505).
constexpr std::array<std::pair<std::string_view, std::string_view>, 56> kDetails{{
    {"0.0", "other undefined status"},
    {"1.0", "other address status"},
    {"1.1", "bad destination mailbox address"},
    {"1.2", "bad destination system address"},
    {"1.3", "bad destination mailbox address syntax"},
    {"1.4", "destination mailbox address ambiguous"},
    {"1.5", "destination address valid"},
    {"1.6", "destination mailbox has moved, no forwarding address"},
    {"1.7", "bad sender's mailbox address syntax"},
    {"1.8", "bad sender's system address"},
    {"1.9", "message relayed to non-compliant mailer"},
    {"1.10", "recipient address has null MX"},
    {"2.0", "other or undefined mailbox status"},
    {"2.1", "mailbox disabled, not accepting messages"},
    {"2.2", "mailbox full"},
    {"2.3", "message length exceeds administrative limit"},
    {"2.4", "mailing list expansion problem"},
    {"3.0", "other or undefined mail system status"},
    {"3.1", "mail system full"},
    {"3.2", "system not accepting network messages"},
    {"3.3", "system not capable of selected features"},
    {"3.4", "message too big for system"},
    {"3.5", "system incorrectly configured"},
    {"4.0", "other or undefined network or routing status"},
    {"4.1", "no answer from host"},
    {"4.2", "bad connection"},
    {"4.3", "directory server failure"},
    {"4.4", "unable to route"},
    {"4.5", "mail system congestion"},
    {"4.6", "routing loop detected"},
    {"4.7", "delivery time expired"},
    {"5.0", "other or undefined protocol status"},
    {"5.1", "invalid command"},
    {"5.2", "syntax error"},
    {"5.3", "too many recipients"},
    {"5.4", "invalid command arguments"},
    {"5.5", "wrong protocol version"},
    {"5.6", "authentication exchange line is too long"},
    {"6.0", "other or undefined media error"},
    {"6.1", "media not supported"},
    {"6.2", "conversion required and prohibited"},
    {"6.3", "conversion required but not supported"},
    {"6.4", "conversion with loss performed"},
    {"6.5", "conversion failed"},
    {"6.7", "non-ASCII addresses not permitted for that sender/recipient (SMTPUTF8 needed)"},
    {"7.0", "other or undefined security status"},
    {"7.1", "delivery not authorized, message refused"},
    {"7.2", "mailing list expansion prohibited"},
    {"7.3", "security conversion required but not possible"},
    {"7.4", "security features not supported"},
    {"7.5", "cryptographic failure"},
    {"7.7", "message integrity failure"},
    {"7.8", "authentication credentials invalid"},
    {"7.9", "authentication mechanism is too weak"},
    {"7.10", "encryption needed"},
    {"7.11", "encryption required for requested authentication mechanism"},
}};

}  // namespace

std::string_view reply_code_meaning(int code) {
  for (const auto& [c, text] : kCodes)
    if (c == code) return text;
  return "";
}

std::string_view reply_class(int code) {
  switch (code / 100) {
    case 2:
      return "success";
    case 3:
      return "intermediate";
    case 4:
      return "temporary failure";
    case 5:
      return "permanent failure";
    default:
      return "not a valid reply class";
  }
}

std::string enhanced_code_meaning(std::string_view enhanced) {
  auto dot = enhanced.find('.');
  if (dot != 1 || enhanced.size() < 5) return "";
  auto detail = enhanced.substr(2);  // "1.1"
  for (const auto& [d, text] : kDetails)
    if (d == detail) return std::string(text);
  auto subject = detail.substr(0, detail.find('.'));
  if (subject.size() == 1 && subject[0] >= '0' && subject[0] <= '7')
    return std::string(kSubjects[static_cast<std::size_t>(subject[0] - '0')]);
  return "";
}

namespace {

// Length of the well-formed UTF-8 sequence (RFC 3629 4: no overlong forms, surrogates or code
// points above U+10FFFF) starting at text[i], or 0.
std::size_t utf8_length_at(std::string_view text, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < text.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F)) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F)) return 0;
    return 4;
  }
  return 0;
}

}  // namespace

std::string printable(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (std::size_t i = 0; i < line.size();) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_length_at(line, i);
      if (n > 0) {
        out.append(line.substr(i, n));
        i += n;
        continue;
      }
    }
    if ((c < 0x20 && c != '\t') || c == 0x7F || c >= 0x80) {
      out += fmt::format("\\x{:02X}", c);
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  return out;
}

std::string explain(const smtp::Reply& reply) {
  std::string out = fmt::format("{}", reply.code);
  if (!reply.enhanced.empty()) out += " " + reply.enhanced;
  out += fmt::format(": {}", reply_class(reply.code));
  if (auto m = reply_code_meaning(reply.code); !m.empty()) out += fmt::format(": {}", m);
  if (auto e = enhanced_code_meaning(reply.enhanced); !e.empty()) out += "; " + e;
  return out;
}

}  // namespace mailroom::client
