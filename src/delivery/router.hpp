// delivery/router: for each recipient, the destinations of its copies (route.hpp).
//
// Pure: decides from the directory snapshot and the configuration, does no I/O and no DNS (MX
// lookup is the SMTP agent's job, at delivery time). Rules:
//   - a recipient in a local domain is expanded by the directory (aliases, catch-all, plus
//     addressing): each mailbox goes to the local transport ([delivery] local: Maildir, or LMTP to
//     the configured server); each forward target is routed again as a non-local address;
//   - an unknown local recipient fails "5.1.1 <x>: user unknown"; an alias loop or a limit
//     exceeded fails "5.4.6 <x>: ..." (RFC 3463 routing loop);
//   - any other recipient goes out by SMTP: to the relayhost when one is set (Postfix's
//     relayhost), else to its domain's MX hosts; an address literal goes to that address.
// The directory is read at delivery time, not at RCPT time, so an alias changed in between is
// honoured.
// Never: routes a local-domain address off this host unless an alias forwards it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "delivery/route.hpp"
#include "directory/directory.hpp"

namespace mailroom::delivery {

struct RouterOptions {
  Transport local_transport = Transport::Maildir;  // Maildir or Lmtp
  std::string lmtp_nexthop;                        // "unix:/path" or "host:port" for Lmtp
  std::string relayhost;                           // "[host]:port", or "" for MX routing
};

// From [delivery] local and relayhost.
RouterOptions router_options(const config::DeliveryConfig& cfg);

class Router {
 public:
  Router(RouterOptions options, std::shared_ptr<const directory::Directory> directory);
  Route route(std::string_view recipient) const;

 private:
  Destination remote(const std::string& address) const;

  RouterOptions options_;
  std::shared_ptr<const directory::Directory> directory_;
};

// The next hop for a non-local address without a relayhost: its domain, or its address literal
// kept in brackets ("kate@[192.0.2.1]" -> "[192.0.2.1]").
std::string smtp_nexthop_for(std::string_view address);

}  // namespace mailroom::delivery
