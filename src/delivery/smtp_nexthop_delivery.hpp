// delivery/smtp_nexthop_delivery: one message's recipients to one SMTP next hop (a domain by its
// MX records, "[host]:port", or the relayhost): the rules of outbound_agent.hpp for resolving
// the hop, walking its hosts and resting a destination no host of which could be reached.
//
// Hosts come best first from nexthop_hosts.hpp and each address is tried with
// smtp_host_attempt.hpp: a connection failure moves on to the host's next address; a host that
// answered (even 4xx) has had its say and the walk goes to the next host; what is still pending
// after the last host is deferred with the last reason. A resting destination defers at once
// with its last error; a temporary DNS failure, or reaching no host at all, starts or lengthens
// the rest. The relayhost gets its credentials and the TLS level of its own host name.
// Never: leaves a recipient without a result, or tries more hosts after a mail loop (5.4.6).
#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "delivery/agent.hpp"
#include "delivery/nexthop_hosts.hpp"
#include "delivery/outbound_connections.hpp"
#include "delivery/smtp_host_attempt.hpp"

namespace mailroom::delivery {

class SmtpNexthopDelivery {
 public:
  // All references must outlive this object.
  SmtpNexthopDelivery(const config::DeliveryConfig& delivery, NexthopResolver& hosts,
                      NexthopStates& destinations, SmtpHostAttempts& attempts)
      : delivery_(delivery), hosts_(hosts), destinations_(destinations), attempts_(attempts) {}

  // Sets results[k] for each k in `items` (indexes into job.items).
  asio::awaitable<void> deliver(const AgentJob& job, const std::vector<std::size_t>& items,
                                const std::string& nexthop, std::vector<ItemResult>& results);

 private:
  const config::DeliveryConfig& delivery_;
  NexthopResolver& hosts_;
  NexthopStates& destinations_;
  SmtpHostAttempts& attempts_;
};

}  // namespace mailroom::delivery
