// delivery/route: where one copy of a message goes — the router's answer, an agent's input.
//
// Transports, and what their next hop means:
//   Maildir  a local mailbox written by mailroom itself; nexthop empty
//   Lmtp     a local mailbox owned by an LMTP server (RFC 2033); nexthop "unix:/path" or
//            "host:port"
//   Smtp     another MTA: nexthop is a domain, whose MX hosts are looked up (RFC 5321 5.1), or, in
//            Postfix's notation, "[host]" / "[host]:port" for a host used as is (a relayhost, or
//            an address literal such as "[192.0.2.1]")
#pragma once

#include <string>
#include <vector>

#include "directory/directory.hpp"

namespace mailroom::delivery {

enum class Transport { Maildir, Lmtp, Smtp };
const char* to_string(Transport);

struct Destination {
  Transport transport = Transport::Maildir;
  // The address this copy is for: the mailbox an alias expanded to, a forward target, or the
  // recipient itself. Recorded in the queue once delivered, so a retry skips it.
  std::string address;
  std::string nexthop;
  directory::Mailbox mailbox;  // Maildir and Lmtp: the local mailbox (with its plus folder)
};

struct Route {
  std::vector<Destination> destinations;
  // Non-empty when the recipient cannot be delivered anywhere: "5.1.1 <x>: user unknown".
  std::string failure;
};

}  // namespace mailroom::delivery
