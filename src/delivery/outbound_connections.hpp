// delivery/outbound_connections: what the outbound agent keeps between deliveries — ready
// connections for reuse, and per destination its concurrency window and whether it rests after
// failing. Used only on the agent's event-loop thread.
//
// ConnectionCache: a connection that finished a message in Ready state is kept for `idle` (2 s,
// Postfix's smtp_connection_cache_time_limit) and at most `reuse_limit` messages, keyed by
// everything that must match for reuse (endpoint, TLS level, server name, credentials, LMTP).
// Idle ones are closed with QUIT when their time is up, the oldest first when over `max_idle`.
// NexthopStates: see outbound_agent.hpp for the window and rest rules.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <compare>
#include <map>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "net/async_semaphore.hpp"
#include "net/smtp_client.hpp"

namespace mailroom::delivery {

struct ConnectionKey {
  std::string endpoint;  // "192.0.2.1:25", "[2001:db8::1]:25" or "unix:/path"
  config::OutboundTls tls = config::OutboundTls::Opportunistic;
  bool plaintext_fallback = false;  // opened without STARTTLS after a failed handshake
  std::string server_name;
  std::string username;
  bool lmtp = false;
  auto operator<=>(const ConnectionKey&) const = default;
};

class ConnectionCache {
 public:
  using Client = std::shared_ptr<net::SmtpClient>;
  ConnectionCache(asio::any_io_executor ex, std::chrono::seconds idle, std::uint32_t reuse_limit,
                  std::size_t max_idle);
  ~ConnectionCache();

  Client take(const ConnectionKey& key);               // a ready connection, or null
  void give(const ConnectionKey& key, Client client);  // kept if ready and reusable, else closed
  void close_all();
  std::size_t idle() const { return idle_.size(); }

 private:
  struct Idle {
    Client client;
    std::chrono::steady_clock::time_point since;
  };
  void schedule_reaper();
  void reap();
  void retire(Client client);  // QUIT in the background, then close

  asio::any_io_executor ex_;
  std::chrono::seconds idle_time_;
  std::uint32_t reuse_limit_;
  std::size_t max_idle_;
  std::multimap<ConnectionKey, Idle> idle_;
  asio::steady_timer reaper_;
  bool reaper_armed_ = false;
};

// One destination (a next hop: a domain, "[host]:port", or an LMTP socket).
struct NexthopState {
  NexthopState(asio::any_io_executor ex, std::size_t limit);
  net::AsyncSemaphore window;
  std::size_t limit;
  std::chrono::steady_clock::time_point rest_until{};
  std::uint32_t failures = 0;  // in a row: whole attempts where no host could be reached
  std::string last_error;

  bool resting(std::chrono::steady_clock::time_point now) const { return now < rest_until; }
  void connected();       // a session got to Ready: the window grows
  void connect_failed();  // the window halves
  // A whole attempt reached no host: rest `base` seconds, doubled per failure in a row (<= 1 h).
  void unreachable(const std::string& reason, std::chrono::seconds base);
  void reachable() { failures = 0; }
};

class NexthopStates {
 public:
  NexthopStates(asio::any_io_executor ex, std::size_t per_destination_limit)
      : ex_(std::move(ex)), limit_(per_destination_limit) {}
  NexthopState& get(const std::string& nexthop);
  // Every destination may be tried at once again (an administrator's queue flush); the count of
  // failures in a row stays, so one that is still down rests longer after its next failure.
  void end_rests();

 private:
  asio::any_io_executor ex_;
  std::size_t limit_;
  std::map<std::string, std::unique_ptr<NexthopState>> by_nexthop_;
};

}  // namespace mailroom::delivery
