// The probe's --security checks, each on a connection of its own in raw mode (the caller's bytes,
// not the engine's): STARTTLS command injection and SMTP-smuggling end-of-data look-alikes.
// Neither ever completes delivery of a smuggled message: what follows a look-alike is a NOOP.
#include "client/probe_security.hpp"

#include <fmt/format.h>

#include "client/probe.hpp"
#include "net/smtp_client.hpp"
#include "util/ascii.hpp"

namespace mailroom::client {
namespace {

using namespace std::chrono_literals;

bool offers(const net::RawExchange& ehlo, std::string_view keyword) {
  if (ehlo.replies.empty()) return false;
  for (const auto& line : ehlo.replies.back().raw_lines)
    if (line.size() > 4 && util::istarts_with(std::string_view(line).substr(4), keyword))
      return true;
  return false;
}

bool positive(const net::RawExchange& x) {
  return !x.replies.empty() && x.replies.back().reply.positive();
}

ProbeStep step(Verdict v, std::string summary, std::vector<std::string> causes = {}) {
  ProbeStep s;
  s.step = Step::Security;
  s.verdict = v;
  s.summary = std::move(summary);
  s.causes = std::move(causes);
  return s;
}

}  // namespace

// CVE-2011-0411: a server that buffers what was pipelined after STARTTLS runs it inside TLS.
asio::awaitable<ProbeStep> check_starttls_injection(net::SmtpClient& c,
                                                    const net::ClientEndpoint& where,
                                                    const std::string& ehlo_name) {
  auto greeting = co_await c.open_raw(where);
  if (greeting.replies.empty()) co_return step(Verdict::Skipped, "STARTTLS injection: no greeting");
  auto ehlo = co_await c.raw("EHLO " + ehlo_name + "\r\n", 1, 10s);
  if (!offers(ehlo, "STARTTLS"))
    co_return step(Verdict::Skipped, "STARTTLS injection: STARTTLS not offered");
  auto started = co_await c.raw("STARTTLS\r\nNOOP\r\n", 1, 10s);
  if (!positive(started)) co_return step(Verdict::Skipped, "STARTTLS injection: STARTTLS refused");
  if (started.replies.size() > 1)
    co_return step(Verdict::Warn, "STARTTLS injection: the pipelined NOOP was answered before TLS");
  const bool tls = co_await c.raw_start_tls();
  if (!tls) co_return step(Verdict::Skipped, "STARTTLS injection: TLS handshake failed");
  auto after = co_await c.raw("", 0, 1500ms);
  if (!after.replies.empty())
    co_return step(
        Verdict::Fail,
        "STARTTLS injection: a command sent in plaintext before TLS was executed inside it (\"" +
            after.replies.front().raw_lines.back() + "\")",
        {"The server keeps its input buffer across STARTTLS (CVE-2011-0411): a man in the middle "
         "can inject commands into the encrypted session. Update the MTA"});
  co_return step(Verdict::Ok, "STARTTLS injection: plaintext sent after STARTTLS was discarded");
}

// CVE-2023-51764 and relatives: does a look-alike of <CRLF>.<CRLF> end the DATA phase? The text
// after it is a NOOP: a vulnerable server answers it as a command, a safe one keeps it as message
// text (or refuses the bare line ending).
asio::awaitable<ProbeStep> check_smuggling(net::SmtpClient& c, const net::ClientEndpoint& where,
                                           const std::string& ehlo_name, const std::string& from,
                                           const std::string& to, std::string_view name,
                                           std::string_view lookalike) {
  auto greeting = co_await c.open_raw(where);
  if (greeting.replies.empty())
    co_return step(Verdict::Skipped, fmt::format("{}: no greeting", name));
  co_await c.raw("EHLO " + ehlo_name + "\r\n", 1, 10s);
  auto mail = co_await c.raw("MAIL FROM:<" + from + ">\r\n", 1, 10s);
  auto rcpt = co_await c.raw("RCPT TO:<" + to + ">\r\n", 1, 10s);
  if (!positive(mail) || !positive(rcpt))
    co_return step(
        Verdict::Skipped,
        fmt::format("{}: the server did not accept MAIL/RCPT for {} (use --to)", name, to));
  auto data = co_await c.raw("DATA\r\n", 1, 10s);
  if (data.replies.empty() || data.replies.back().reply.code != 354)
    co_return step(Verdict::Skipped, fmt::format("{}: DATA not accepted", name));
  std::string body = fmt::format(
      "Subject: mailroom probe: SMTP smuggling check\r\n\r\nThis test message checks how the "
      "server ends DATA.{}NOOP\r\n\r\n.\r\n",
      lookalike);
  auto end = co_await c.raw(body, 2, 3s);
  co_await c.raw("QUIT\r\n", 1, 5s);
  if (end.replies.size() >= 2 && end.replies[0].reply.positive())
    co_return step(
        Verdict::Fail,
        fmt::format("{}: the look-alike ended DATA (\"{}\", then the NOOP answered \"{}\")", name,
                    end.replies[0].raw_lines.back(), end.replies[1].raw_lines.back()),
        {"The server accepts an end of data other than <CRLF>.<CRLF>: a sender can smuggle a "
         "second message past SPF/DKIM checks of the first (CVE-2023-51764 and relatives). "
         "Refuse bare LF/CR in DATA (Postfix: smtpd_forbid_bare_newline)"});
  if (end.replies.empty())
    co_return step(Verdict::Warn, fmt::format("{}: no reply to the end of data", name));
  co_return step(Verdict::Ok, fmt::format("{}: only <CRLF>.<CRLF> ends DATA (\"{}\")", name,
                                          end.replies[0].raw_lines.back()));
}

}  // namespace mailroom::client
