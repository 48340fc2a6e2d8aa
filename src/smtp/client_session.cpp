// The connection half of ClientSession: greeting, EHLO/HELO/LHLO, STARTTLS, AUTH, QUIT, reply
// dispatch and session failure. The mail transaction is in client_transaction.cpp.
#include "smtp/client_session.hpp"

#include <fmt/format.h>

#include "util/ascii.hpp"

namespace mailroom::smtp {

namespace {

constexpr std::string_view kSecret = "****";

}  // namespace

ClientSession::ClientSession(ClientOptions options)
    : options_(std::move(options)), parser_(options_.reply_limits) {
  tls_active_ = options_.implicit_tls;
  CommandLine check = ehlo_command(options_.helo_name);
  if (check.ok() && options_.credentials) {
    const ClientCredentials& c = *options_.credentials;
    check = c.oauth2_token.empty() ? auth_plain_command(c.authzid, c.username, c.password)
                                   : xoauth2_command(c.username, c.oauth2_token);
  }
  if (!check.ok()) {
    auto detail = fmt::format(
        "{} ({})", check.error == CommandError::BadCredentials ? "credentials" : "helo_name",
        command_error_name(check.error));
    fail(ClientState::Connecting, FailureCause::InvalidOptions,
         local_failure_reply(FailureCause::InvalidOptions, ClientState::Connecting, detail), false);
  }
}

ClientState ClientSession::state() const {
  if (finished() || expects_.empty()) return phase_;
  return expects_.front().stage;
}

std::string ClientSession::take_output() { return std::exchange(out_, std::string()); }

std::vector<ClientEvent> ClientSession::take_events() {
  return std::exchange(events_, std::vector<ClientEvent>());
}

void ClientSession::send(std::string_view wire, std::string_view shown) {
  out_.append(wire);
  std::string_view line = wire.substr(0, wire.size() - 2);  // every wire line ends in CRLF
  emit(CommandSent{std::string(shown.empty() ? line : shown)});
}

void ClientSession::expect(ClientState stage, std::size_t index, bool ignore) {
  expects_.push_back(Expect{stage, index, ignore});
}

void ClientSession::on_connected() {
  if (phase_ != ClientState::Connecting || finished()) return;
  phase_ = ClientState::Banner;
  expect(ClientState::Banner);
}

void ClientSession::on_bytes(std::string_view bytes) {
  if (finished()) return;
  parser_.feed(bytes);
  while (!finished()) {
    auto received = parser_.next();
    if (!received) break;
    emit(ReplyReceived{std::move(received->raw_lines)});
    handle(received->reply);
  }
  if (!finished() && parser_.ready() == 0 && parser_.error()) malformed(*parser_.error());
}

void ClientSession::on_reply(const Reply& reply) {
  if (finished()) return;
  ReplyReceived transcript;
  std::string wire = reply.wire();
  for (std::size_t start = 0, end; (end = wire.find("\r\n", start)) != std::string::npos;
       start = end + 2) {
    transcript.lines.push_back(wire.substr(start, end - start));
  }
  emit(std::move(transcript));
  handle(reply);
}

void ClientSession::handle(const Reply& r) {
  if (phase_ == ClientState::Connecting && expects_.empty()) {
    on_connected();  // the edge did not say so; the banner does
  }
  if (expects_.empty()) return unexpected(state(), r);
  Expect e = expects_.front();
  expects_.pop_front();
  // RFC 5321 3.8: 421 may answer any command; the server closes right after.
  if (r.code == 421 && e.stage != ClientState::Quit) {
    return fail(e.stage, FailureCause::ServerReply, r, true);
  }
  if (e.ignore) return maybe_finish();
  // RFC 5321 4.3.2: 354 answers DATA only, 334 AUTH only; a 250 to DATA or a 354 to RCPT is a
  // server out of step, and taking it at its word would report mail delivered that never was.
  int kind = r.code / 100;
  bool intermediate =
      e.stage == ClientState::Data || (e.stage == ClientState::Auth && r.code == 334);
  if (e.stage != ClientState::Quit &&
      (kind < 2 || kind > 5 || (kind == 2 && e.stage == ClientState::Data) ||
       (kind == 3 && !intermediate))) {
    return unexpected(e.stage, r);
  }
  switch (e.stage) {
    case ClientState::Banner:
      return on_banner(r);
    case ClientState::Ehlo:
      return on_ehlo(r, false);
    case ClientState::TlsEhlo:
      return on_ehlo(r, true);
    case ClientState::Helo:
      return on_helo(r);
    case ClientState::StartTls:
      return on_starttls(r);
    case ClientState::Auth:
      return on_auth(r);
    case ClientState::Rset:
      return on_rset(r);
    case ClientState::Mail:
      return on_mail(r);
    case ClientState::Rcpt:
      return on_rcpt(r, e.index);
    case ClientState::Data:
      return on_data(r);
    case ClientState::EndOfData:
      return on_end_of_data(r);
    case ClientState::Bdat:
      return on_bdat(r);
    case ClientState::Quit:
      expects_.clear();
      phase_ = failed_ ? ClientState::Failed : ClientState::Done;
      return;
    default:
      return unexpected(e.stage, r);
  }
}

std::string ClientSession::hello_line(bool extended) const {
  if (options_.lmtp) return lhlo_command(options_.helo_name).wire;
  return extended ? ehlo_command(options_.helo_name).wire : helo_command(options_.helo_name).wire;
}

void ClientSession::on_banner(const Reply& r) {
  // RFC 5321 3.1: a 554 greeting means "go away"; the client still says QUIT (fail() does).
  if (r.code / 100 != 2) return fail(ClientState::Banner, FailureCause::ServerReply, r, true);
  send(hello_line(true));
  expect(ClientState::Ehlo);
}

void ClientSession::on_ehlo(const Reply& r, bool in_tls) {
  if (r.code / 100 == 2) {
    caps_ = parse_ehlo_reply(r);
    esmtp_ = true;
    return after_hello();
  }
  // RFC 5321 3.2: a server that does not know EHLO answers 5xx (Cisco PIX "fixup" turns EHLO
  // into XXXX, which gets 500); HELO still works. LMTP has no HELO (RFC 2033 4.1).
  if (r.code / 100 == 5 && !options_.lmtp) {
    send(hello_line(false));
    expect(ClientState::Helo);
    return;
  }
  fail(in_tls ? ClientState::TlsEhlo : ClientState::Ehlo, FailureCause::ServerReply, r, true);
}

void ClientSession::on_helo(const Reply& r) {
  if (r.code / 100 != 2) return fail(ClientState::Helo, FailureCause::ServerReply, r, true);
  EhloCapabilities greeting = parse_ehlo_reply(r);
  caps_ = EhloCapabilities{};  // HELO: no extension, whatever the lines say
  caps_.greeting_domain = std::move(greeting.greeting_domain);
  caps_.greeting_text = std::move(greeting.greeting_text);
  esmtp_ = false;
  after_hello();
}

void ClientSession::after_hello() {
  if (!tls_active_ && options_.tls != TlsPolicy::None && !starttls_refused_ && esmtp_ &&
      caps_.starttls) {
    // Nothing is pipelined after STARTTLS: the server drops it with the plaintext state.
    send(kStartTlsCommand);
    expect(ClientState::StartTls);
    return;
  }
  if (!tls_active_ && options_.tls == TlsPolicy::Required) {
    return fail(ClientState::StartTls, FailureCause::TlsNotOffered,
                local_failure_reply(FailureCause::TlsNotOffered, ClientState::StartTls), false);
  }
  if (options_.credentials && !authenticated_) return start_auth();
  become_ready();
}

void ClientSession::on_starttls(const Reply& r) {
  if (r.code / 100 == 2) {
    // Anything already read after the 220 came in plaintext and may be replies injected by a man
    // in the middle, which TLS would then seem to vouch for (the client-side twin of
    // CVE-2011-0411; RFC 3207 4.2 drops everything from before TLS).
    if (parser_.holds_input()) {
      return fail(ClientState::StartTls, FailureCause::StartTlsInjection,
                  local_failure_reply(FailureCause::StartTlsInjection, ClientState::StartTls),
                  false);
    }
    phase_ = ClientState::TlsHandshake;
    emit(TlsWanted{});
    return;
  }
  if (options_.tls == TlsPolicy::Required) {
    return fail(ClientState::StartTls, FailureCause::TlsFailed,
                local_failure_reply(FailureCause::TlsFailed, ClientState::StartTls,
                                    "STARTTLS refused: " + r.summary()),
                false);
  }
  starttls_refused_ = true;  // opportunistic: go on in plaintext, as Postfix does
  after_hello();
}

void ClientSession::on_tls_established() {
  if (finished() || phase_ != ClientState::TlsHandshake || !expects_.empty()) return;
  tls_active_ = true;
  parser_.clear();
  caps_ = EhloCapabilities{};  // RFC 3207 4.2: forget everything learnt before TLS
  esmtp_ = false;
  phase_ = ClientState::TlsEhlo;
  send(hello_line(true));
  expect(ClientState::TlsEhlo);
}

void ClientSession::on_tls_failed() {
  if (finished() || phase_ != ClientState::TlsHandshake) return;
  fail(ClientState::TlsHandshake, FailureCause::TlsFailed,
       local_failure_reply(FailureCause::TlsFailed, ClientState::TlsHandshake, "handshake failed"),
       false);
}

void ClientSession::start_auth() {
  const ClientCredentials& c = *options_.credentials;
  if (!tls_active_ && !options_.allow_plaintext_auth) {
    return fail(ClientState::Auth, FailureCause::AuthNeedsTls,
                local_failure_reply(FailureCause::AuthNeedsTls, ClientState::Auth), false);
  }
  auth_step_ = 0;
  // A mechanism the caller named is the only one tried.
  auto usable = [&](std::string_view mechanism) {
    return esmtp_ && caps_.offers_auth(mechanism) &&
           (c.mechanism.empty() || util::iequals(c.mechanism, mechanism));
  };
  if (!c.oauth2_token.empty() && usable("XOAUTH2")) {
    auth_mechanism_ = AuthMechanism::XOAuth2;
    send(xoauth2_command(c.username, c.oauth2_token).wire, fmt::format("AUTH XOAUTH2 {}", kSecret));
  } else if (c.oauth2_token.empty() && usable("PLAIN")) {
    auth_mechanism_ = AuthMechanism::Plain;
    send(auth_plain_command(c.authzid, c.username, c.password).wire,
         fmt::format("AUTH PLAIN {}", kSecret));
  } else if (c.oauth2_token.empty() && usable("LOGIN")) {
    auth_mechanism_ = AuthMechanism::Login;
    send(kAuthLoginCommand);
  } else {
    return fail(ClientState::Auth, FailureCause::AuthUnavailable,
                local_failure_reply(FailureCause::AuthUnavailable, ClientState::Auth), false);
  }
  expect(ClientState::Auth);
}

void ClientSession::on_auth(const Reply& r) {
  if (r.code / 100 == 2) {
    authenticated_ = true;
    return become_ready();
  }
  // A challenge after "*": the server did not take the cancel.
  if (r.code == 334 && auth_step_ < 0) return unexpected(ClientState::Auth, r);
  if (r.code == 334) {
    const ClientCredentials& c = *options_.credentials;
    if (auth_mechanism_ == AuthMechanism::Login && auth_step_ < 2) {
      // The prompts ("Username:", "Password:") vary between servers; the order does not.
      send(auth_response(auth_step_ == 0 ? c.username : c.password), kSecret);
      ++auth_step_;
      expect(ClientState::Auth);
      return;
    }
    if (auth_mechanism_ == AuthMechanism::XOAuth2 && auth_step_ == 0) {
      // XOAUTH2 reports a refused token as a 334 with a JSON error; an empty response gets
      // the final 5xx.
      send(auth_response(""), "");
      ++auth_step_;
      expect(ClientState::Auth);
      return;
    }
    // A challenge the mechanism has no answer for: cancel (RFC 4954 4); the server's 501 then
    // ends the session below.
    send(kAuthCancel);
    auth_step_ = -1;
    expect(ClientState::Auth);
    return;
  }
  fail(ClientState::Auth, FailureCause::ServerReply, r, true);
}

void ClientSession::become_ready() {
  phase_ = ClientState::Ready;
  emit(SessionReady{});
}

bool ClientSession::rset() {
  if (finished() || phase_ != ClientState::Ready || !expects_.empty() || tx_) return false;
  need_rset_ = false;
  send(kRsetCommand);
  expect(ClientState::Rset);
  phase_ = ClientState::Rset;
  return true;
}

bool ClientSession::quit() {
  if (finished() || phase_ != ClientState::Ready || !expects_.empty() || tx_) return false;
  send(kQuitCommand);
  expect(ClientState::Quit);
  phase_ = ClientState::Quit;
  return true;
}

void ClientSession::unexpected(ClientState stage, const Reply& r) {
  if (r.code == 421) return fail(stage, FailureCause::ServerReply, r, true);
  emit(ProtocolViolation{stage, r, std::nullopt});
  fail(stage, FailureCause::UnexpectedReply,
       local_failure_reply(FailureCause::UnexpectedReply, stage, r.summary()), false);
}

void ClientSession::malformed(const ReplyParseError& error) {
  ClientState stage = state();
  emit(ProtocolViolation{stage, std::nullopt, error});
  fail(stage, FailureCause::MalformedReply,
       local_failure_reply(FailureCause::MalformedReply, stage, error.message()), false);
}

void ClientSession::on_connection_lost(ConnectionEnd why) {
  if (finished()) return;
  if (state() == ClientState::Quit) {
    expects_.clear();
    phase_ = failed_ ? ClientState::Failed : ClientState::Done;
    return;
  }
  FailureCause cause = why == ConnectionEnd::Timeout      ? FailureCause::Timeout
                       : why == ConnectionEnd::LocalAbort ? FailureCause::LocalAbort
                                                          : FailureCause::ConnectionLost;
  ClientState stage = state();
  fail(stage, cause, local_failure_reply(cause, stage), false);
}

void ClientSession::fail(ClientState stage, FailureCause cause, const Reply& reply,
                         bool from_server) {
  if (finished()) return;
  emit(SessionFailed{stage, cause, reply, from_server});
  failed_ = true;
  if (tx_) {
    // Everything not yet final may be tried again: a permanent reply here (to RSET, say) is
    // about the session, not about these recipients.
    bool keep = reply.transient();
    Reply transient =
        keep ? reply : local_failure_reply(FailureCause::ServerReply, stage, reply.summary());
    settle_pending(stage, transient, from_server && keep, false);
    finish_message();
  }
  // QUIT only when the server is known to be reading commands: not after 421 or a lost
  // connection, not while pipelined replies are outstanding (a 354 among them would take QUIT
  // for message text), not during the body or the handshake, not after a protocol violation.
  bool polite =
      (cause == FailureCause::ServerReply
           ? reply.code != 421
           : cause == FailureCause::TlsNotOffered || cause == FailureCause::TlsFailed ||
                 cause == FailureCause::AuthUnavailable || cause == FailureCause::AuthNeedsTls) &&
      expects_.empty() && phase_ != ClientState::DataBody && phase_ != ClientState::TlsHandshake &&
      phase_ != ClientState::Connecting;
  expects_.clear();
  if (polite) {
    send(kQuitCommand);
    expect(ClientState::Quit);
    phase_ = ClientState::Quit;
  } else {
    phase_ = ClientState::Failed;
  }
}

}  // namespace mailroom::smtp
