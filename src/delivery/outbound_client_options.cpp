#include "delivery/outbound_client_options.hpp"

#include <memory>

#include "journal/protocol_log.hpp"

namespace mailroom::delivery {

using config::OutboundTls;

namespace {

// The outbound side of the protocol log: the client's transcript (AUTH already masked, bodies
// already "<message, N octets>") with the connection's ends and close.
void attach_protocol_log(net::SmtpClientOptions& o, bool lmtp) {
  auto* writer = journal::installed_writer();
  if (!writer) return;
  auto trace = std::make_shared<journal::ProtocolTrace>(writer, lmtp ? "outbound-lmtp" : "outbound",
                                                        journal::next_outbound_session_id());
  o.on_connect = [trace](const std::string& local, const std::string& remote) {
    trace->set_endpoints(local, remote);
    trace->connect();
  };
  o.on_close = [trace] { trace->disconnect(); };
  o.transcript = [trace](const net::TranscriptLine& line) {
    using D = net::TranscriptLine::Direction;
    switch (line.direction) {
      case D::Sent:
        trace->sent_command(line.text);
        break;
      case D::Received:
        trace->received(line.text);
        break;
      case D::Info:
        if (line.text.rfind("connected to ", 0) != 0) trace->info(line.text);
        break;
    }
  };
}

}  // namespace

net::SmtpClientOptions outbound_client_options(const config::DeliveryConfig& d,
                                               const std::string& our_hostname,
                                               asio::ssl::context* tls, OutboundTls level,
                                               bool lmtp, bool with_credentials) {
  net::SmtpClientOptions o;
  o.session.helo_name = d.helo_name.empty() ? our_hostname : d.helo_name;
  o.session.lmtp = lmtp;
  o.session.chunking = d.use_bdat;
  switch (level) {
    case OutboundTls::None:
      o.session.tls = smtp::TlsPolicy::None;
      break;
    case OutboundTls::Opportunistic:
      o.session.tls = smtp::TlsPolicy::Opportunistic;
      break;
    case OutboundTls::Required:
      o.session.tls = smtp::TlsPolicy::Required;
      break;
    case OutboundTls::Verify:
      o.session.tls = smtp::TlsPolicy::Required;
      o.require_trusted_certificate = true;
      break;
  }
  if (with_credentials && !d.relayhost_username.empty()) {
    smtp::ClientCredentials c;
    c.username = d.relayhost_username;
    c.password = d.relayhost_password;
    o.session.credentials = c;
    o.session.allow_plaintext_auth = d.relayhost_plaintext_auth;
  }
  o.tls_context = tls;
  if (d.protocol_log) attach_protocol_log(o, lmtp);
  using S = smtp::ClientState;
  auto set = [&o](S s, std::uint32_t v) { o.timeouts_s[static_cast<std::size_t>(s)] = v; };
  set(S::Connecting, d.connect_timeout_s);
  for (S s : {S::Banner, S::Ehlo, S::Helo, S::StartTls, S::TlsHandshake, S::TlsEhlo, S::Auth})
    set(s, d.helo_timeout_s);
  set(S::Mail, d.mail_timeout_s);
  set(S::Rcpt, d.rcpt_timeout_s);
  set(S::Data, d.data_init_timeout_s);
  set(S::DataBody, d.data_xfer_timeout_s);
  set(S::Bdat, d.data_xfer_timeout_s);
  set(S::EndOfData, d.data_done_timeout_s);
  set(S::Quit, d.quit_timeout_s);
  return o;
}

}  // namespace mailroom::delivery
