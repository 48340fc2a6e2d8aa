// delivery/outbound_policy: the pure decisions of outbound SMTP delivery, apart from its I/O so
// they are unit-tested on their own: what a next hop names, which TLS level a destination gets,
// and how a server's reply becomes a recipient's disposition and the reason the sender will read.
//
// Reasons follow Postfix's wording, which administrators grep for: "host mx.example.org
// [192.0.2.1] said: 550 5.1.1 <x>: user unknown (in reply to RCPT TO command)"; the RFC 3463
// status comes first (the reply's enhanced code when it has one of the right class, else X.0.0).
// Never: turn a 4xx into a failure or a 5xx into a deferral; the reply class decides.
#pragma once

#include <asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "delivery/agent.hpp"
#include "smtp/client_events.hpp"

namespace mailroom::delivery {

// "[host]:port", "[host]", "[IPv6:2001:db8::1]", "host:port" or "host" (Postfix's nexthop
// notation): brackets mean "this host, no MX lookup".
struct Nexthop {
  std::string host;  // a domain name, or an address in text form
  std::uint16_t port = 25;
  bool mx_lookup = true;
  std::optional<asio::ip::address> literal;  // host is an IP address
};
std::optional<Nexthop> parse_nexthop(std::string_view text, std::uint16_t default_port);

// The TLS level for `domain`: the most specific tls_policy entry ("example.org" itself, else
// the longest ".suffix" it falls under), else the default.
config::OutboundTls tls_level_for(const config::DeliveryConfig& cfg, std::string_view domain);

// What the engine said about one recipient, from server `where` ("mx.example.org[192.0.2.1]:25").
ItemResult result_from_reply(const smtp::RecipientResult& result, std::string_view where);
// A failure of the whole session (connect, TLS, 421...), for each recipient still waiting. A 5xx
// greeting defers (4.x.x "refused to talk to me"): it is about the host, not the recipients; so
// does a 5xx to AUTH (4.x.x "SASL authentication failed"): wrong credentials are ours to fix.
ItemResult result_from_session(const smtp::SessionFailed& failure, std::string_view where);

// A cached connection found closed when reused: the session ended at the message's first command
// (RSET or MAIL) by a lost connection or a 421 (a server's idle timeout), so the server took
// nothing of the message and it can go again at once on a new connection.
bool stale_connection_failure(const smtp::SessionFailed& failure);

// The RFC 3463 status of a reply: its enhanced code when of the reply's class, else X.0.0.
std::string enhanced_status_of(const smtp::Reply& reply);

// "RCPT TO", "end of DATA", ... for "(in reply to ... command)".
std::string_view command_name(smtp::ClientState stage);

}  // namespace mailroom::delivery
