#include "client/send_session.hpp"

#include <fmt/format.h>

#include "client/reply_meaning.hpp"
#include "smtp/client_commands.hpp"
#include "util/ascii.hpp"

namespace mailroom::client {
namespace {

std::chrono::milliseconds step_timeout(const SendOptions& o) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout);
}

// A raw exchange that brought no usable reply, as the engine would have reported it.
void note_raw(SessionResult& r, const net::SmtpClient& client, const net::RawExchange& x,
              smtp::ClientState stage) {
  if (r.has_failure) return;
  if (client.failure()) {
    r.has_failure = true;
    r.failure_value = *client.failure();
    return;
  }
  if (!x.replies.empty() && !x.malformed) return;
  smtp::FailureCause cause = smtp::FailureCause::ConnectionLost;
  if (x.malformed) cause = smtp::FailureCause::MalformedReply;
  if (x.timed_out) cause = smtp::FailureCause::Timeout;
  std::string detail;
  if (x.malformed) detail = x.malformed->message();
  r.has_failure = true;
  r.failure_value =
      smtp::SessionFailed{stage, cause, smtp::local_failure_reply(cause, stage, detail), false};
}

void note_client(SessionResult& r, const net::SmtpClient& client) {
  if (r.has_failure || !client.failure()) return;
  r.has_failure = true;
  r.failure_value = *client.failure();
}

std::string mail_line(const net::SmtpClient& client, const SessionPlan& plan) {
  const auto& caps = client.session().capabilities();
  smtp::MailParams p;
  p.sender = plan.envelope.sender;
  if (caps.size) p.size = plan.envelope.size;
  if (plan.envelope.body == smtp::BodyType::EightBitMime && caps.eight_bit_mime)
    p.body = plan.envelope.body;
  if (caps.dsn) {
    p.ret = plan.envelope.ret;
    p.envid = plan.envelope.envid;
  }
  p.smtputf8 = plan.envelope.smtputf8 && caps.smtputf8;
  return smtp::mail_command(p).wire;
}

void record_delivery(SessionResult& r, const net::MessageDelivery& delivery) {
  if (delivery.submit != smtp::SubmitStatus::Started) {
    switch (delivery.submit) {
      case smtp::SubmitStatus::NeedsSevenBit:
        r.not_started = "the message has 8-bit text and the server does not offer 8BITMIME";
        break;
      case smtp::SubmitStatus::NeedsConversion:
        r.not_started = "the server offers no BINARYMIME with CHUNKING";
        break;
      case smtp::SubmitStatus::InvalidEnvelope:
        r.not_started = "an address cannot be sent (not a valid mailbox)";
        break;
      default:
        r.not_started = "the client could not start the message";
    }
    return;
  }
  bool all = !delivery.recipients.empty();
  for (std::size_t i = 0; i < delivery.recipients.size() && i < r.recipients.size(); ++i) {
    r.recipients[i].result = delivery.recipients[i];
    if (!delivery.recipients[i] || delivery.recipients[i]->reply.code / 100 != 2) all = false;
  }
  r.accepted = all;
}

}  // namespace

std::optional<smtp::SessionFailed> SessionResult::failure() const {
  if (!has_failure) return std::nullopt;
  return failure_value;
}

std::uint16_t default_port(const SendOptions& o) {
  if (o.port) return *o.port;
  if (o.lmtp) return 24;
  if (o.tls == SendOptions::Tls::OnConnect) return 465;
  return 25;
}

SessionPlan plan_session(const SendOptions& o, std::size_t index) {
  SessionPlan plan;
  plan.stop = o.quit_after.value_or(QuitAfter::Data);
  if (o.message) plan.message = o.message(index);
  smtp::OutboundMessage& m = plan.envelope;
  m.sender = o.from;
  for (const auto& to : o.to) {
    smtp::OutboundRecipient r;
    r.address = to;
    r.notify = o.notify;
    if (o.orcpt) r.orcpt = "rfc822;" + to;
    m.recipients.push_back(std::move(r));
  }
  m.size = plan.message.bytes.size();
  if (plan.message.eight_bit) m.body = smtp::BodyType::EightBitMime;
  m.smtputf8 = o.smtputf8 || plan.message.utf8_headers;
  m.ret = o.ret;
  m.envid = o.envid;
  m.envelope_only = plan.stop == QuitAfter::Rcpt;
  return plan;
}

std::unique_ptr<asio::ssl::context> make_send_tls_context(const SendOptions& o) {
  net::ClientTlsOptions tls;
  tls.ca_file = o.ca_file;
  return net::make_client_tls_context(tls);
}

net::SmtpClientOptions send_client_options(const SendOptions& o, asio::ssl::context* tls,
                                           const SessionPlan& plan) {
  net::SmtpClientOptions c;
  c.session.helo_name = o.ehlo_name;
  c.session.lmtp = o.lmtp;
  c.session.pipelining = o.pipeline;
  c.session.chunking = o.bdat;
  c.session.implicit_tls = o.tls == SendOptions::Tls::OnConnect;
  c.session.tls =
      o.tls == SendOptions::Tls::StartTls ? smtp::TlsPolicy::Required : smtp::TlsPolicy::None;
  // --quit-after ehlo stops before STARTTLS; tls and ehlo before AUTH.
  if (plan.stop == QuitAfter::Ehlo) c.session.tls = smtp::TlsPolicy::None;
  if (plan.stop != QuitAfter::Ehlo && plan.stop != QuitAfter::Tls &&
      plan.stop != QuitAfter::Connect)
    c.session.credentials = o.credentials;
  // The user asked for AUTH: like swaks, it goes where the server offers it (the transcript
  // says whether that was inside TLS).
  c.session.allow_plaintext_auth = true;
  c.tls_context = tls;
  c.require_trusted_certificate = o.tls_verify;
  const auto seconds = static_cast<std::uint32_t>(o.timeout.count());
  c.timeouts_s.fill(seconds);
  c.timeouts_s[static_cast<std::size_t>(smtp::ClientState::Ready)] = 0;
  c.timeouts_s[static_cast<std::size_t>(smtp::ClientState::Done)] = 0;
  c.timeouts_s[static_cast<std::size_t>(smtp::ClientState::Failed)] = 0;
  return c;
}

namespace {

bool offers_starttls(const net::RawExchange& ehlo) {
  if (ehlo.replies.empty() || ehlo.replies.back().reply.code != 250) return false;
  for (const auto& line : ehlo.replies.back().raw_lines)
    if (line.size() > 4 && util::iequals(std::string_view(line).substr(4), "STARTTLS")) return true;
  return false;
}

void fail_local(SessionResult& r, smtp::ClientState stage, smtp::FailureCause cause,
                std::string_view detail = {}) {
  if (r.has_failure) return;
  r.has_failure = true;
  r.failure_value =
      smtp::SessionFailed{stage, cause, smtp::local_failure_reply(cause, stage, detail), false};
}

std::string hello_line(const SendOptions& o) {
  if (o.lmtp) return smtp::lhlo_command(o.ehlo_name).wire;
  return smtp::ehlo_command(o.ehlo_name).wire;
}

}  // namespace

// swaks's --quit-after tls: QUIT right after the handshake, before the second EHLO, which the
// engine always sends; so this one session goes in raw mode (the caller's bytes, parsed replies).
static asio::awaitable<void> quit_after_tls(net::SmtpClient& client,
                                            const net::ClientEndpoint& where, const SendOptions& o,
                                            SessionResult& r) {
  const auto wait = step_timeout(o);
  net::RawExchange greeting = co_await client.open_raw(where);
  note_raw(r, client, greeting, smtp::ClientState::Banner);
  const bool greeted = !r.has_failure && greeting.replies.back().reply.code == 220;
  // Without STARTTLS, "where TLS would have been negotiated" is after the EHLO (swaks).
  net::RawExchange ehlo;
  if (greeted && o.tls != SendOptions::Tls::OnConnect) {
    const std::string hello = hello_line(o);
    ehlo = co_await client.raw(hello, 1, wait);
    note_raw(r, client, ehlo, smtp::ClientState::Ehlo);
  }
  const bool ehlo_ok =
      !r.has_failure && !ehlo.replies.empty() && ehlo.replies.back().reply.code == 250;
  if (greeted && ehlo_ok && o.tls == SendOptions::Tls::StartTls) {
    const bool offered = offers_starttls(ehlo);
    if (!offered) fail_local(r, smtp::ClientState::StartTls, smtp::FailureCause::TlsNotOffered);
    net::RawExchange starttls;
    if (offered) {
      starttls = co_await client.raw("STARTTLS\r\n", 1, wait);
      note_raw(r, client, starttls, smtp::ClientState::StartTls);
    }
    const bool go = offered && !r.has_failure && starttls.replies.back().reply.code == 220;
    if (go) {
      const bool tls = co_await client.raw_start_tls();
      if (!tls) {
        note_client(r, client);
        fail_local(r, smtp::ClientState::TlsHandshake, smtp::FailureCause::TlsFailed,
                   "handshake failed");
      }
    }
  }
  if (client.connected()) {
    net::RawExchange bye = co_await client.raw("QUIT\r\n", 1, wait);
    (void)bye;
  }
  client.close();
}

asio::awaitable<SessionResult> run_session(net::SmtpClient& client,
                                           const net::ClientEndpoint& where, const SendOptions& o,
                                           const SessionPlan& plan) {
  SessionResult r;
  for (const auto& to : plan.envelope.recipients)
    r.recipients.push_back({to.address, std::nullopt});
  const auto wait = step_timeout(o);
  if (plan.stop == QuitAfter::Connect) {
    net::RawExchange greeting = co_await client.open_raw(where);
    note_raw(r, client, greeting, smtp::ClientState::Banner);
    if (client.connected() && !r.has_failure) {
      net::RawExchange bye = co_await client.raw("QUIT\r\n", 1, wait);
      (void)bye;
    }
    client.close();
    co_return r;
  }
  if (plan.stop == QuitAfter::Tls) {
    co_await quit_after_tls(client, where, o, r);
    co_return r;
  }
  const bool ready = co_await client.open(where);
  if (!ready) {
    note_client(r, client);
    client.close();
    co_return r;
  }
  if (plan.stop == QuitAfter::Ehlo || plan.stop == QuitAfter::Tls || plan.stop == QuitAfter::Auth) {
    co_await client.quit();
    note_client(r, client);
    co_return r;
  }
  if (plan.stop == QuitAfter::Mail) {
    const std::string line = mail_line(client, plan);
    net::RawExchange mail = co_await client.raw(line, 1, wait);
    note_raw(r, client, mail, smtp::ClientState::Mail);
    if (client.connected()) {
      net::RawExchange bye = co_await client.raw("QUIT\r\n", 1, wait);
      (void)bye;
    }
    client.close();
    co_return r;
  }
  net::StringBodySource body(plan.message.bytes);
  net::MessageDelivery delivery = co_await client.send(plan.envelope, body);
  record_delivery(r, delivery);
  if (client.ready()) {
    co_await client.quit();
  } else {
    client.close();
  }
  note_client(r, client);
  co_return r;
}

void add_result_steps(std::vector<ProbeStep>& steps, const SessionResult& result) {
  if (!result.not_started.empty()) {
    ProbeStep s;
    s.step = Step::Mail;
    s.verdict = Verdict::Fail;
    s.summary = "not sent: " + result.not_started;
    s.causes = {
        "Send a 7-bit message (quoted-printable) or use a server that offers the "
        "extension"};
    steps.push_back(std::move(s));
    return;
  }
  bool data_failed_shown = false, any_failed = false;
  for (const auto& s : steps) {
    if (s.step == Step::Data && s.verdict == Verdict::Fail) data_failed_shown = true;
    if (s.verdict == Verdict::Fail) any_failed = true;
  }
  for (const auto& r : result.recipients) {
    if (!r.result) continue;
    const smtp::RecipientResult& rr = *r.result;
    if (rr.reply.code / 100 == 2) continue;
    // The server's own RCPT or end-of-data refusal is in the transcript already, except
    // LMTP's second and later verdicts after the final dot.
    const bool shown =
        rr.from_server && (rr.stage == smtp::ClientState::Rcpt ||
                           (rr.stage == smtp::ClientState::EndOfData && data_failed_shown));
    if (shown) continue;
    // Made up by the client after a failure the transcript shows (a lost connection).
    if (!rr.from_server && any_failed) continue;
    ProbeStep s;
    s.step = rr.stage == smtp::ClientState::Rcpt ? Step::Rcpt : Step::Data;
    if (!rr.from_server && rr.stage != smtp::ClientState::EndOfData) s.step = Step::Mail;
    s.verdict = Verdict::Fail;
    s.summary = fmt::format("{}: {}", r.address, rr.reply.summary());
    s.meaning = explain(rr.reply);
    s.causes = causes_for_reply(s.step, rr.reply);
    if (s.step == Step::Data) data_failed_shown = true;
    steps.push_back(std::move(s));
  }
}

}  // namespace mailroom::client
