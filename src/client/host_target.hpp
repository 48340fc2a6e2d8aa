// client/host_target: where the tester connects — "host", "host:port", "[address]:port",
// "address" — and the hosts behind it: an address as it is, a name's addresses, or a domain's
// MX hosts in order (RFC 5321 5.1: implicit MX, null MX). Shared by `send` and `shell`.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/probe.hpp"
#include "dns/resolver.hpp"

namespace mailroom::client {

struct HostPort {
  std::string host;  // name or address, without brackets
  std::optional<asio::ip::address> literal;
  std::optional<std::uint16_t> port;
};

// nullopt for an empty host or a port that is not 1-65535. An IPv6 address needs brackets when a
// port follows ("[::1]:25"); bare, it is an address without a port.
std::optional<HostPort> parse_host_port(std::string_view text);

// One host to try, with its addresses (empty when it has none: `status` says why).
struct HostAddresses {
  std::string name;
  std::vector<asio::ip::address> addresses;
  dns::Status status = dns::Status::Ok;
};

// The host's addresses (a literal needs no DNS).
asio::awaitable<HostAddresses> resolve_host(dns::Resolver& resolver, HostPort host);

// A domain's mail hosts by MX preference, each with its addresses; `dns_step` reports the MX
// lookup as the probe does (FAIL for NXDOMAIN, a null MX or a DNS failure).
asio::awaitable<std::vector<HostAddresses>> resolve_mx_hosts(dns::Resolver& resolver,
                                                             std::string domain,
                                                             ProbeStep& dns_step);

}  // namespace mailroom::client
