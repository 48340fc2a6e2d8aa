// dns/resolver_options: which servers the resolver asks, how long it waits, what it caches.
//
// Waiting: c-ares (1.18) sends a query to each server in turn, `tries` rounds over the list;
// the first round waits timeout_ms per server and each later round doubles it. With one server,
// timeout_ms = 2000 and tries = 2 a silent server costs 2 s + 4 s before the lookup reports
// Timeout. Code on a connection path (reverse lookup of a client) should use a shorter budget.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "dns/answer.hpp"
#include "dns/cache.hpp"

namespace mailroom::dns {

struct ServerAddress {
  std::string ip;  // "127.0.0.1", "::1"
  std::uint16_t port = 53;
  bool operator==(const ServerAddress&) const = default;
};

// "127.0.0.1", "127.0.0.1:5353", "::1", "[::1]", "[::1]:5353"; nullopt for anything else
// (names are not accepted: resolving the resolver would need a resolver).
std::optional<ServerAddress> parse_server_address(std::string_view text);

struct ResolverOptions {
  std::vector<std::string> servers;  // as parse_server_address reads them; empty: /etc/resolv.conf
  std::uint32_t timeout_ms = 2000;
  std::uint32_t tries = 2;
  std::size_t cache_max_entries = 10000;  // 0: no cache (identical lookups in flight still share)
  TtlLimits ttl;
  Clock clock;  // empty: std::chrono::steady_clock::now
};

// The [dns] section: servers and timeout_ms; the rest keeps its defaults.
ResolverOptions resolver_options(const config::DnsConfig& dns);

}  // namespace mailroom::dns
