// server/client_ledger: what the server remembers about a client address across its sessions —
// how many connections it opened and how many AUTH attempts failed in the current time window.
//
// Postfix keeps the same per-client counters in anvil(8) (smtpd_client_connection_rate_limit,
// smtpd_client_auth_rate_limit): fixed windows per client address, counted from the client's
// first event in the window. A per-session limit alone lets a guesser reconnect for fresh tries;
// this ledger carries the count to the next session.
//
// Memory is bounded whatever clients do: each address costs one entry, expired entries are
// pruned as new ones arrive, and past max_entries the oldest window is evicted first (a flood of
// spoofed addresses can make us forget, never run out of memory). Single-threaded: touched only
// from the server's io thread. Pure: the caller supplies the time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailroom::server {

class WindowCounter {
 public:
  using Clock = std::chrono::steady_clock;

  WindowCounter(std::chrono::seconds window, std::size_t max_entries = 100000);

  // Records one event for `key` at `now`; returns the count in its window, this one included.
  std::uint32_t record(std::string_view key, Clock::time_point now);
  // The count in `key`'s window at `now` (0 when it has none or it expired).
  std::uint32_t count(std::string_view key, Clock::time_point now) const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Clock::time_point start;
    std::uint32_t count = 0;
  };
  bool expired(const Entry& e, Clock::time_point now) const { return now - e.start >= window_; }
  void make_room(Clock::time_point now);

  std::chrono::seconds window_;
  std::size_t max_entries_;
  std::unordered_map<std::string, Entry> entries_;
  std::multimap<Clock::time_point, std::string> by_start_;  // oldest window first
};

// The per-client counters every listener's sessions share.
struct ClientLedger {
  ClientLedger(std::chrono::seconds connection_window, std::chrono::seconds auth_window)
      : connections(connection_window), auth_failures(auth_window) {}
  WindowCounter connections;
  WindowCounter auth_failures;
};

}  // namespace mailroom::server
