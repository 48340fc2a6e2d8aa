// Fuzzes the ESMTP parameter parser (smtp/mail_args: SIZE, BODY, RET, ENVID, NOTIFY, ORCPT,
// SMTPUTF8, AUTH) and xtext (RFC 3461 4). Whatever follows the path, an accepted MAIL or RCPT
// holds only values that are safe to write into a queue file or a DSN header: no control octet
// in a decoded value, lengths within RFC 3461's limits, enumerations normalised, and every
// decoded value survives xtext_encode -> xtext_decode unchanged. A refusal is a 5xx reply.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/mail_args.hpp"

using namespace mailroom::smtp;

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}

bool has_control(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

void check_xtext_round_trip(const std::string& raw) {
  auto again = xtext_decode(xtext_encode(raw));
  check(again.has_value() && *again == raw);
}

template <typename T>
void check_refusal(const ParseResult<T>& o) {
  if (!o.ok()) check(o.error.code >= 500 && o.error.code < 600 && !o.error.lines.empty());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view params(reinterpret_cast<const char*>(data), size);
  // The parameters after a fixed, valid path, so the fuzzer spends its time on the parameters.
  const std::string mail_text = "FROM:<a@example.org> " + std::string(params);
  auto mail = parse_mail_args(mail_text);
  check_refusal(mail);
  if (mail.ok()) {
    const MailArgs& m = *mail.value;
    check(!has_control(m.envid) && !has_control(m.auth));
    check(m.ret.empty() || m.ret == "FULL" || m.ret == "HDRS");
    check(m.envid.size() <= kMaxEnvidBytes);
    check_xtext_round_trip(m.envid);
    check_xtext_round_trip(m.auth);
  }
  for (bool smtputf8 : {false, true}) {
    const std::string rcpt_text = "TO:<b@example.test> " + std::string(params);
    auto rcpt = parse_rcpt_args(rcpt_text, smtputf8);
    check_refusal(rcpt);
    if (!rcpt.ok()) continue;
    const RcptArgs& r = *rcpt.value;
    check(!has_control(r.orcpt));
    check(r.orcpt.size() <= kMaxOrcptBytes);
    check(r.orcpt.empty() || r.orcpt.find(';') != std::string::npos);
    // NEVER is never combined with another NOTIFY keyword (RFC 3461 4.1).
    check(!(r.notify & kNotifyNever) || r.notify == kNotifyNever);
    check(r.notify < 16);
  }
  // xtext on its own: a decode never grows, and what it decodes re-encodes to a decodable form.
  if (auto decoded = xtext_decode(params)) {
    check(decoded->size() <= params.size());
    check_xtext_round_trip(*decoded);
  }
  return 0;
}
