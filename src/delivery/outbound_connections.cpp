#include "delivery/outbound_connections.hpp"

#include <algorithm>

namespace mailroom::delivery {
namespace {

// A free function, not a lambda: GCC 12 double-destroys by-value parameters of coroutine lambdas.
asio::awaitable<void> quit_and_close(std::shared_ptr<net::SmtpClient> client) {
  co_await client->quit();
}

constexpr std::size_t kInitialWindow = 5;  // Postfix's initial_destination_concurrency

}  // namespace

ConnectionCache::ConnectionCache(asio::any_io_executor ex, std::chrono::seconds idle,
                                 std::uint32_t reuse_limit, std::size_t max_idle)
    : ex_(ex), idle_time_(idle), reuse_limit_(reuse_limit), max_idle_(max_idle), reaper_(ex) {}

ConnectionCache::~ConnectionCache() {
  reaper_.cancel();
  for (auto& [key, entry] : idle_) entry.client->close();
}

ConnectionCache::Client ConnectionCache::take(const ConnectionKey& key) {
  auto range = idle_.equal_range(key);
  for (auto it = range.first; it != range.second;) {
    auto client = it->second.client;
    it = idle_.erase(it);
    if (client->ready()) return client;
    client->close();
  }
  return nullptr;
}

void ConnectionCache::give(const ConnectionKey& key, Client client) {
  if (!client) return;
  if (!client->ready() || idle_time_.count() == 0 ||
      client->session().messages_started() >= reuse_limit_) {
    retire(std::move(client));
    return;
  }
  while (idle_.size() >= max_idle_ && !idle_.empty()) {
    auto oldest = std::min_element(idle_.begin(), idle_.end(), [](auto& a, auto& b) {
      return a.second.since < b.second.since;
    });
    auto victim = oldest->second.client;
    idle_.erase(oldest);
    retire(std::move(victim));
  }
  idle_.emplace(key, Idle{std::move(client), std::chrono::steady_clock::now()});
  schedule_reaper();
}

void ConnectionCache::close_all() {
  for (auto& [key, entry] : idle_) entry.client->close();
  idle_.clear();
  reaper_.cancel();
}

void ConnectionCache::retire(Client client) {
  if (client->ready()) {
    asio::co_spawn(ex_, quit_and_close(std::move(client)), asio::detached);
  } else {
    client->close();
  }
}

void ConnectionCache::schedule_reaper() {
  if (reaper_armed_) return;
  reaper_armed_ = true;
  reaper_.expires_after(idle_time_);
  reaper_.async_wait([this](std::error_code ec) {
    reaper_armed_ = false;
    if (ec) return;
    reap();
  });
}

void ConnectionCache::reap() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = idle_.begin(); it != idle_.end();) {
    if (now - it->second.since >= idle_time_ || !it->second.client->ready()) {
      auto client = it->second.client;
      it = idle_.erase(it);
      retire(std::move(client));
    } else {
      ++it;
    }
  }
  if (!idle_.empty()) schedule_reaper();
}

NexthopState::NexthopState(asio::any_io_executor ex, std::size_t limit_)
    : window(std::move(ex), std::min(kInitialWindow, limit_)), limit(limit_) {}

void NexthopState::connected() {
  if (window.permits() < limit) window.set_permits(window.permits() + 1);
}

void NexthopState::connect_failed() {
  window.set_permits(std::max<std::size_t>(1, window.permits() / 2));
}

void NexthopState::unreachable(const std::string& reason, std::chrono::seconds base) {
  last_error = reason;
  ++failures;
  if (base.count() == 0) return;
  auto rest = base * (1LL << std::min<std::uint32_t>(failures - 1, 16));
  rest = std::min<std::chrono::seconds>(rest, std::chrono::hours(1));
  rest_until = std::chrono::steady_clock::now() + rest;
}

void NexthopStates::end_rests() {
  for (auto& [nexthop, state] : by_nexthop_) state->rest_until = {};
}

NexthopState& NexthopStates::get(const std::string& nexthop) {
  auto& slot = by_nexthop_[nexthop];
  if (!slot) slot = std::make_unique<NexthopState>(ex_, limit_);
  return *slot;
}

}  // namespace mailroom::delivery
