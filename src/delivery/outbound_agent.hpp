// delivery/outbound_agent: delivery by SMTP to other MTAs (RFC 5321) and by LMTP to the server
// that owns local mailboxes (RFC 2033), on one event-loop thread with c-ares for DNS.
//
// SMTP, per message and next hop (route.hpp):
//   - the next hop's hosts: "[host]:port" as is; a domain by its MX records (RFC 5321 5.1): by
//     preference, equal ones shuffled, at most max_mx_hosts, the domain itself when it has no MX,
//     none when it publishes a null MX (5.1.10, RFC 7505); DNS failures become 4.4.3 (temporary)
//     or 5.1.2 (no such domain) at once (dns/delivery_failure.hpp);
//   - each host's addresses in turn; a connection failure, a 4xx greeting or session failure, or
//     a 4xx to a recipient moves on to the next address or host; a 5xx is final for the
//     recipients it answered (a 5xx greeting is not: the host refused to talk, the message
//     waits, as Postfix's smtp_skip_5xx_greeting); what is still open after the last host is
//     deferred with the last reason, quoting the server and its reply;
//   - a host that is one of our own listeners, or greets with our own name, is a mail loop:
//     5.4.6 "mail for <domain> loops back to myself", as Postfix;
//   - TLS per destination (tls_level_for): opportunistic STARTTLS, and a failed handshake retried
//     once in plaintext on a new connection, as Postfix; "required" fails 4.7.4/4.7.5 without
//     TLS; "verify" also needs a trusted certificate for the host name; the relayhost's
//     credentials go only over TLS unless relayhost_plaintext_auth, and a relay refusing them
//     (5xx to AUTH) defers the mail, as Postfix's smtp_sasl_auth_soft_bounce;
//   - a body the next hop cannot take (8BITMIME or BINARYMIME without the extension, SMTPUTF8
//     without SMTPUTF8) bounces 5.6.3 / 5.6.7 rather than being sent damaged.
// LMTP: the configured socket or host, LHLO, one reply per recipient after the data.
// Connections: one per message and next hop carries all its recipients; a ready connection is
// kept for connection_cache_s and reused (up to connection_reuse_limit messages); at most
// max_connections deliveries at once, and per destination a window that starts at 5, grows by one
// per successful connection up to max_connections_per_destination and halves when a connection
// fails (Postfix's concurrency feedback, simplified). A destination where no host could be
// reached rests destination_backoff_s (doubling while it keeps failing, up to an hour): its
// messages are deferred at once with the last error instead of each waiting for timeouts, until
// the rest ends or an administrator's queue flush ends it (end_rests(), as Postfix's
// `postqueue -f` also retries dead destinations).
// Where each rule lives: smtp_nexthop_delivery (the walk over a next hop's hosts, rests),
// nexthop_hosts (MX), smtp_host_attempt (one host: loops, 5.6.3), outbound_sessions and
// outbound_connections (TLS fallback, reuse, windows), lmtp_delivery, outbound_policy (replies).
// Never: reports Delivered without a 2xx to the end of data, or sends AUTH credentials in
// plaintext unless told to.
#pragma once

#include <asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "delivery/agent.hpp"
#include "dns/resolver_options.hpp"

namespace mailroom::delivery {

struct OutboundAgentOptions {
  config::DeliveryConfig delivery;
  std::string hostname;  // ours: EHLO (unless delivery.helo_name), loop detection
  dns::ResolverOptions dns;
  // Our listeners: an MX host at one of these is a loop. Port matters (tests run several servers
  // on loopback); an unspecified address (0.0.0.0, ::) stands for every local address.
  std::vector<asio::ip::tcp::endpoint> own_endpoints;
};

// The agent's options from the whole configuration: [delivery], [dns], our hostname, and the
// listeners as our own endpoints.
OutboundAgentOptions outbound_agent_options(const config::Config& cfg);

class OutboundAgent final : public DeliveryAgent {
 public:
  explicit OutboundAgent(OutboundAgentOptions options);
  ~OutboundAgent() override;  // closes cached connections and stops the thread

  std::vector<AgentJobResult> deliver(const std::vector<AgentJob>& jobs) override;
  // Interrupts attempts in flight (shutdown): their unfinished items come back deferred, and
  // later calls to deliver() return at once.
  void stop();
  // Ends every destination's rest: deliveries handed over after this call try their hosts
  // again (the agent's single event-loop thread runs posted work in order). Thread-safe.
  void end_rests();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailroom::delivery
