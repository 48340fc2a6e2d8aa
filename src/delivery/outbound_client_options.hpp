// delivery/outbound_client_options: how the outbound agent configures one client session from
// [delivery] — EHLO name, LMTP, BDAT, the destination's TLS level (outbound_policy.hpp), the
// relayhost's credentials, Postfix-style timeouts per protocol stage, and the protocol log.
//
// "verify" is STARTTLS required plus a trusted certificate for the host name; credentials go
// only over TLS unless relayhost_plaintext_auth (the session enforces it).
// Never: attaches credentials when not asked to (they are the relayhost's, for the relayhost
// only), or a transcript that shows AUTH secrets or message bodies (the client masks both).
#pragma once

#include <asio/ssl/context.hpp>
#include <string>

#include "config/config.hpp"
#include "net/smtp_client.hpp"

namespace mailroom::delivery {

// `tls` is the agent's client TLS context (trusted CAs); it must outlive the session.
net::SmtpClientOptions outbound_client_options(const config::DeliveryConfig& delivery,
                                               const std::string& our_hostname,
                                               asio::ssl::context* tls, config::OutboundTls level,
                                               bool lmtp, bool with_credentials);

}  // namespace mailroom::delivery
