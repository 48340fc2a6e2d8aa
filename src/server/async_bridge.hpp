// server/async_bridge: awaiting work that completes on another thread (the queue's commit
// thread, the blocking pool) from a session coroutine, resuming on the session's own executor.
#pragma once

#include "util/asio_tuple.hpp"
#include <functional>
#include <memory>
#include <system_error>

#include "queue/queue.hpp"

namespace mailroom::server {

// Awaits queue.commit(); resumes on the caller's executor with the commit's result.
inline asio::awaitable<std::error_code> async_commit(queue::Queue& q,
                                                     std::unique_ptr<queue::IncomingMessage> msg) {
  auto ex = co_await asio::this_coro::executor;
  auto [ec] = co_await asio::async_initiate<decltype(use_tuple), void(std::error_code)>(
      [&q, &msg, ex](auto handler) {
        // CommitCallback is a copyable std::function; the coroutine handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        q.commit(std::move(msg), [shared, ex](std::error_code ec) {
          asio::post(ex, [shared, ec]() mutable { (*shared)(ec); });
        });
      },
      use_tuple);
  co_return ec;
}

// Runs `fn` on `pool` and resumes on the caller's executor with its result.
template <typename Fn>
asio::awaitable<bool> run_blocking(asio::thread_pool& pool, Fn fn) {
  auto ex = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(bool)>(
      [&pool, ex, fn = std::move(fn)](auto handler) mutable {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        asio::post(pool, [shared, ex, fn = std::move(fn)]() mutable {
          bool result = fn();
          asio::post(ex, [shared, result]() mutable { (*shared)(result); });
        });
      },
      asio::use_awaitable);
}

}  // namespace mailroom::server
