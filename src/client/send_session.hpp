// client/send_session: one SMTP session of `mailroom send` on net::SmtpClient — the client
// settings the command line asks for, the envelope and message of the Nth message, and the
// session itself up to the --quit-after step. Shared by the single sender and the load generator.
#pragma once

#include <asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/send.hpp"
#include "net/smtp_client.hpp"

namespace mailroom::client {

struct SessionPlan {
  QuitAfter stop = QuitAfter::Data;
  BuiltMessage message;
  smtp::OutboundMessage envelope;
};

// The Nth message: its bytes, and an envelope with the DSN, SMTPUTF8 and BODY parameters asked
// for (MAIL and RCPT only, envelope_only, with --quit-after rcpt).
SessionPlan plan_session(const SendOptions& o, std::size_t index);
// Throws std::runtime_error (one line) when --ca-file cannot be loaded.
std::unique_ptr<asio::ssl::context> make_send_tls_context(const SendOptions& o);
// Timeouts, TLS policy, credentials (not before --quit-after auth), PIPELINING, BDAT, LMTP.
net::SmtpClientOptions send_client_options(const SendOptions& o, asio::ssl::context* tls,
                                           const SessionPlan& plan);
std::uint16_t default_port(const SendOptions& o);

struct SessionResult {
  bool has_failure = false;  // a value and a flag: GCC 12 -O2 and optionals in coroutine frames
  smtp::SessionFailed failure_value{};
  std::vector<SendReport::Recipient> recipients;
  bool accepted = false;    // every recipient 2xx at its final step
  std::string not_started;  // why the client handed the message back (8BITMIME, ...)
  std::optional<smtp::SessionFailed> failure() const;
};

// Runs the session to the plan's stop and QUITs. Never throws for network trouble.
asio::awaitable<SessionResult> run_session(net::SmtpClient& client,
                                           const net::ClientEndpoint& where, const SendOptions& o,
                                           const SessionPlan& plan);

// Steps no line of the transcript shows: recipients refused by the client itself (SIZE over the
// server's limit, SMTPUTF8 not offered), a message handed back, LMTP's per-recipient verdicts
// after the first.
void add_result_steps(std::vector<ProbeStep>& steps, const SessionResult& result);

}  // namespace mailroom::client
