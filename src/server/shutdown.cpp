#include "server/shutdown.hpp"

#include <spdlog/spdlog.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <vector>

#include "net/asio_tuple.hpp"
#include "server/service_notify.hpp"
#include "server/session.hpp"

namespace mailroom::server {

void SessionRegistry::add(Session* s) {
  sessions_.insert(s);
  if (shutting_down_) s->begin_shutdown();
}

void SessionRegistry::remove(Session* s) {
  sessions_.erase(s);
  if (sessions_.empty() && shutting_down_ && on_empty_) on_empty_();
}

void SessionRegistry::begin_shutdown() {
  shutting_down_ = true;
  for (auto* s : std::vector<Session*>(sessions_.begin(), sessions_.end())) s->begin_shutdown();
}

void SessionRegistry::close_all(const std::string& why) {
  // A session leaves the registry only when its coroutine ends, never inside close().
  for (auto* s : std::vector<Session*>(sessions_.begin(), sessions_.end())) s->abort(why);
}

asio::awaitable<void> shutdown_on_signal(asio::signal_set& signals,
                                         std::function<void()> stop_accepting,
                                         SessionRegistry& sessions,
                                         std::function<std::chrono::seconds()> grace_period) {
  auto [ec, sig] = co_await signals.async_wait(use_tuple);
  if (ec) co_return;
  const auto grace = grace_period();
  spdlog::info("event=shutdown signal={} sessions={} grace_s={}", sig, sessions.size(),
               grace.count());
  notify_stopping();
  notify_status(
      fmt::format("stopping: {} session(s) open, grace {} s", sessions.size(), grace.count()));
  stop_accepting();
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer drained(ex, asio::steady_timer::time_point::max());
  sessions.on_empty([&drained] { drained.cancel(); });
  sessions.begin_shutdown();
  if (sessions.size() > 0) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer grace_timer(ex, grace);
    auto first = drained.async_wait(use_tuple) || grace_timer.async_wait(use_tuple) ||
                 signals.async_wait(use_tuple);
    auto which = co_await std::move(first);
    if (sessions.size() > 0) {
      const std::string why = which.index() == 2 ? "second signal" : "shutdown grace period over";
      spdlog::warn("event=shutdown_closing sessions={} reason=\"{}\"", sessions.size(), why);
      sessions.close_all(why);
    }
  }
  // Closed sessions still unwind: a commit or password check they wait on completes first.
  while (sessions.size() > 0) {
    drained.expires_at(asio::steady_timer::time_point::max());
    co_await drained.async_wait(use_tuple);
  }
  sessions.on_empty(nullptr);
  spdlog::info("event=sessions_closed");
}

}  // namespace mailroom::server
