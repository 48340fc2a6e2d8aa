// delivery/nexthop_hosts: the hosts an SMTP next hop (outbound_policy.hpp's Nexthop) stands for,
// best first, each with its addresses — the list the outbound agent walks.
//
// An address literal is itself; "[host]" is that host without MX lookup; a domain goes by its MX
// records (RFC 5321 5.1) as dns/mx_plan.hpp orders them: by preference, equal ones shuffled, at
// most max_mx_hosts, the domain itself when it has no MX, none for a null MX (RFC 7505). A host
// whose name has no address is left out; when no host is left, the DNS failure says why
// (dns/delivery_failure.hpp: temporary 4.4.3, or 5.1.2 for a domain that does not exist).
// Used only on the agent's event-loop thread.
// Never: returns hosts together with a failure, or tries the domain's own address when its MX
// lookup failed or published a null MX.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "delivery/outbound_policy.hpp"
#include "dns/delivery_failure.hpp"
#include "dns/resolver.hpp"

namespace mailroom::delivery {

struct NexthopHost {
  std::string name;
  std::vector<asio::ip::tcp::endpoint> endpoints;
};

class NexthopResolver {
 public:
  NexthopResolver(asio::any_io_executor ex, dns::ResolverOptions options,
                  std::uint32_t max_mx_hosts);

  // Fills `hosts`, best first; when there are none, `failure` says why if DNS did.
  asio::awaitable<void> resolve(const Nexthop& hop, std::vector<NexthopHost>& hosts,
                                std::optional<dns::DeliveryFailure>& failure);

 private:
  dns::Resolver resolver_;
  std::uint32_t max_mx_hosts_;
  std::mt19937_64 rng_;
};

}  // namespace mailroom::delivery
