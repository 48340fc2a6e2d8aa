// delivery/lmtp_delivery: one message's recipients to the LMTP server that owns their mailboxes
// (RFC 2033): "unix:/path" or an IP address with an optional port (24 by default), LHLO, one
// reply per recipient after the data. A recipient routed to a folder goes as user+folder@domain
// (outbound_message.hpp).
//
// Connections come from outbound_sessions.hpp (no TLS, no credentials: the server is ours) and
// are cached like SMTP ones; each delivery holds a delivery slot and a place in the window of
// destination "lmtp:<nexthop>". A session that does not get to Ready gives every recipient its
// failure (result_from_session, outbound_policy.hpp); a message the server cannot take defers
// with 4.3.0; a nexthop that is a host name defers with 4.3.5 (the configuration must name an
// address).
// Never: looks the LMTP server up in DNS, or reports Delivered without the server's 2xx for that
// recipient after the data.
#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <string>
#include <vector>

#include "delivery/agent.hpp"
#include "delivery/outbound_connections.hpp"
#include "delivery/outbound_sessions.hpp"

namespace mailroom::delivery {

class LmtpDelivery {
 public:
  // All references must outlive this object.
  LmtpDelivery(OutboundSessions& sessions, NexthopStates& destinations)
      : sessions_(sessions), destinations_(destinations) {}

  // Sets results[k] for each k in `items` (indexes into job.items).
  asio::awaitable<void> deliver(const AgentJob& job, const std::vector<std::size_t>& items,
                                const std::string& nexthop, std::vector<ItemResult>& results);

 private:
  OutboundSessions& sessions_;
  NexthopStates& destinations_;
};

}  // namespace mailroom::delivery
