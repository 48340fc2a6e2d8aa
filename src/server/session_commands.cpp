// Session commands other than DATA/BDAT and AUTH: HELO, EHLO, MAIL, RCPT, RSET, VRFY, QUIT and
// STARTTLS (RFC 5321 4.1.1, RFC 3207). Each handler checks sequence and syntax, replies, and only
// then changes state.
#include <spdlog/spdlog.h>

#include "server/session.hpp"
#include "smtp/address.hpp"
#include "smtp/ehlo_keywords.hpp"
#include "util/ascii.hpp"

namespace mailroom::server {

bool Session::starttls_offered() const {
  return rt_.listener.tls == config::TlsMode::StartTls && rt_.tls && !transport_.tls_active();
}

bool Session::auth_offered() const {
  if (rt_.listener.auth == config::AuthMode::None) return false;
  // RFC 4954 4: PLAIN and LOGIN send the password in the clear; only inside TLS unless the
  // listener explicitly allows it.
  return transport_.tls_active() || rt_.listener.allow_plaintext_auth;
}

bool Session::require_no_args(const smtp::Command& cmd) {
  if (cmd.args.empty()) return true;
  reply(smtp::replies::invalid_arguments());
  return false;
}

void Session::reset_transaction() {
  log_state(state_.end_transaction());
  tx_ = Transaction{};
}

void Session::on_helo(const smtp::Command& cmd, bool extended) {
  if (!smtp::is_valid_helo_argument(cmd.args)) {
    reply(smtp::replies::invalid_domain());
    return;
  }
  // RFC 5321 4.1.4: EHLO/HELO in the middle of a transaction resets it.
  tx_ = Transaction{};
  helo_ = cmd.args;
  log_state(state_.hello(extended));
  const auto& host = rt_.cfg.server.hostname;
  if (!extended) {
    reply(smtp::replies::hello(host, client_ip_));
    return;
  }
  smtp::Capabilities caps{rt_.listener.max_message_size, starttls_offered(), auth_offered()};
  reply(smtp::replies::ehlo(host, client_ip_, smtp::ehlo_keywords(caps)));
}

void Session::on_mail(const smtp::Command& cmd) {
  if (rt_.listener.auth == config::AuthMode::Required && auth_user_.empty())
    return reply(smtp::replies::not_authenticated());
  auto parsed = smtp::parse_mail_args(cmd.args);
  if (!parsed.ok()) return reply(parsed.error);
  auto& args = *parsed.value;
  // ESMTP parameters are only defined for EHLO sessions (RFC 5321 4.1.1.11 via 2.2.1).
  if (!state_.esmtp() &&
      (args.size || args.body != smtp::BodyType::Unspecified || !args.ret.empty() ||
       !args.envid.empty() || args.smtputf8 || !args.auth.empty()))
    return reply(smtp::replies::unrecognized_parameter());
  if (args.size && *args.size > rt_.listener.max_message_size)
    return reply(smtp::replies::message_too_big());
  if (!auth_user_.empty() && !args.sender.is_null && !sender_owned(args.sender)) {
    spdlog::warn("session={} client={} event=sender_login_mismatch user=\"{}\" from=<{}>", id_,
                 client_ip_, smtp::sanitize_text(auth_user_, 128),
                 smtp::sanitize_text(args.sender.str()));
    return reply(smtp::replies::sender_not_owned(args.sender.str(), auth_user_));
  }
  tx_.mail = std::move(args);
  log_state(state_.mail());
  reply(smtp::replies::sender_ok());
}

// RFC 6409 6.1: the MSA may refuse a sender the authenticated user is not allowed to use.
bool Session::sender_owned(const smtp::Address& sender) const {
  const auto& l = rt_.listener;
  if (!l.enforce_sender_login) return true;
  for (const auto& login : l.sender_login_exceptions)
    if (util::iequals(login, auth_user_)) return true;
  // The login's mailbox: a bare login name is a mailbox of the first local domain (directory.hpp).
  std::string mailbox = auth_user_;
  if (mailbox.find('@') == std::string::npos) {
    auto domains = rt_.directory->local_domains();
    if (domains.empty()) return false;
    mailbox += "@" + domains.front();
  }
  auto res = rt_.directory->resolve(sender.str());
  if (res.status != directory::Resolution::Status::Ok) return false;
  for (const auto& mb : res.mailboxes)
    if (util::iequals(mb.address(), mailbox)) return true;
  return false;
}

void Session::on_rcpt(const smtp::Command& cmd) {
  auto parsed = smtp::parse_rcpt_args(cmd.args, tx_.mail.smtputf8);
  if (!parsed.ok()) return reply(parsed.error);
  auto& args = *parsed.value;
  if (!state_.esmtp() && (args.notify != 0 || !args.orcpt.empty()))
    return reply(smtp::replies::unrecognized_parameter());
  if (tx_.recipients.size() >= rt_.listener.max_recipients)
    return reply(smtp::replies::too_many_recipients());
  ClientIdentity who{client_ip_, !auth_user_.empty()};
  auto decision = rt_.policy.check(args.recipient, who, local_ip_);
  spdlog::info("session={} client={} event=rcpt to=<{}> result={} reason=\"{}\"", id_, client_ip_,
               smtp::sanitize_text(args.recipient.str()), decision.reply.code, decision.log_reason);
  if (!decision.accepted) {
    tx_.refused_recipients++;
    rt_.metrics->rejected("recipient_" + std::to_string(decision.reply.code));
    return reply(decision.reply);
  }
  tx_.recipients.push_back({decision.address, args.orcpt, args.notify});
  log_state(state_.rcpt());
  reply(decision.reply);
}

void Session::on_rset(const smtp::Command& cmd) {
  if (!require_no_args(cmd)) return;
  reset_transaction();
  reply(smtp::replies::resetting());
}

void Session::on_vrfy(const smtp::Command& cmd) {
  if (cmd.args.empty()) return reply(smtp::replies::invalid_arguments());
  // Confirming addresses helps harvesters; answer like Postfix with disable_vrfy_command.
  reply(smtp::replies::cannot_vrfy());
}

void Session::on_quit(const smtp::Command& cmd) {
  (void)cmd;  // RFC 5321 4.1.1.10 allows no argument, but a stray one is no reason to stay
  reply(smtp::replies::closing());
  closing_requested_ = true;
}

asio::awaitable<void> Session::on_starttls(const smtp::Command& cmd) {
  if (!require_no_args(cmd)) co_return;
  if (transport_.tls_active()) co_return reply(smtp::replies::tls_already_active());
  if (rt_.listener.tls != config::TlsMode::StartTls || !rt_.tls)
    co_return reply(smtp::replies::tls_not_available());
  co_await reply_now(smtp::replies::ready_to_start_tls());
  if (closing_) co_return;
  // RFC 3207 4.2 / CVE-2011-0411: anything the client pipelined after STARTTLS was sent in
  // plaintext and must not be executed inside the TLS session.
  if (lines_.buffered() > 0)
    spdlog::warn("session={} client={} event=starttls_injection discarded_bytes={}", id_,
                 client_ip_, lines_.buffered());
  lines_.clear();
  set_deadline(std::chrono::seconds(rt_.cfg.limits.idle_timeout_s));
  reading_ = true;  // a stalled handshake gets the timeout reply path, like a stalled read
  auto ec = co_await transport_.start_tls(*rt_.tls, net::TlsRole::Server);
  reading_ = false;
  if (ec) {
    rt_.metrics->tls_failed.inc();
    spdlog::info("session={} client={} event=tls_failed error=\"{}\"", id_, client_ip_,
                 ec.message());
    close("tls handshake failed");
    co_return;
  }
  // RFC 3207 4.2: forget everything learned before TLS, including the EHLO name.
  tx_ = Transaction{};
  helo_.clear();
  log_state(state_.tls_started());
  auth_user_.clear();
  rt_.metrics->tls_ok.inc();
  trace_.info("TLS established: " + transport_.tls_description());
  spdlog::info("session={} client={} event=starttls tls=\"{}\"", id_, client_ip_,
               transport_.tls_description());
}

}  // namespace mailroom::server
