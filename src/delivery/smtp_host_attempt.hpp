// delivery/smtp_host_attempt: one message to one address of one SMTP host — take a cached
// connection or open a session (outbound_sessions.hpp), send the message once, and record what
// the server said of each recipient still pending. The walk over a next hop's hosts that calls
// it is smtp_nexthop_delivery.hpp.
//
// Each attempt holds one of the agent's delivery slots and one place in the destination's window
// (outbound_connections.hpp); the window grows when a new session gets to Ready and halves when
// the connection itself fails. The outcome says whether the host answered (then the walk moves to
// the next host, not the next address) and whether it is ourselves: one of our listeners
// (own_endpoints.hpp) or a greeting with our own name, a mail loop. A recipient the server
// accepted or refused (2xx, 5xx) leaves `pending`; one it deferred stays, with the reply in
// `last`. A message the host cannot take undamaged (8BITMIME or BINARYMIME missing) fails 5.6.3.
// Never: sends to a host that is ourselves, or counts a recipient delivered without the
// server's 2xx after the data.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "delivery/agent.hpp"
#include "delivery/nexthop_hosts.hpp"
#include "delivery/outbound_connections.hpp"
#include "delivery/outbound_sessions.hpp"
#include "delivery/own_endpoints.hpp"

namespace mailroom::delivery {

struct HostAttemptOutcome {
  bool connected = false;  // a session got past the greeting
  bool loop = false;
};

class SmtpHostAttempts {
 public:
  // All references must outlive this object.
  SmtpHostAttempts(OutboundSessions& sessions, const OwnEndpoints& own,
                   const config::DeliveryConfig& delivery, const std::string& our_hostname)
      : sessions_(sessions), own_(own), delivery_(delivery), our_hostname_(our_hostname) {}

  // `pending` indexes job.items and results; `credentials`: the relayhost's, if any, are sent.
  asio::awaitable<HostAttemptOutcome> attempt(const AgentJob& job, NexthopState& dest,
                                              const NexthopHost& host,
                                              const asio::ip::tcp::endpoint& ep,
                                              config::OutboundTls level, bool credentials,
                                              std::vector<std::size_t>& pending,
                                              std::vector<ItemResult>& results, ItemResult& last);

 private:
  OutboundSessions& sessions_;
  const OwnEndpoints& own_;
  const config::DeliveryConfig& delivery_;
  const std::string& our_hostname_;
};

}  // namespace mailroom::delivery
