// server/async_bridge: awaiting work that completes on another thread (the queue's commit
// thread, the blocking pool) from a session coroutine, resuming on the session's own executor.
//
// These are plain functions returning the initiated awaitable, not coroutines themselves: GCC 12
// double-destroys by-value lambda parameters of coroutine templates.
#pragma once

#include <functional>
#include <memory>
#include <system_error>

#include "queue/queue.hpp"
#include "util/asio_tuple.hpp"

namespace mailroom::server {

// co_await async_commit(...) yields std::tuple<std::error_code> on the caller's executor.
inline auto async_commit(asio::any_io_executor ex, queue::Queue& q,
                         std::unique_ptr<queue::IncomingMessage> msg) {
  return asio::async_initiate<decltype(use_tuple), void(std::error_code)>(
      [&q, ex](auto handler, std::unique_ptr<queue::IncomingMessage> m) {
        // CommitCallback is a copyable std::function; the coroutine handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        q.commit(std::move(m), [shared, ex](std::error_code ec) {
          asio::post(ex, [shared, ec]() mutable { (*shared)(ec); });
        });
      },
      use_tuple, std::move(msg));
}

// co_await run_blocking(...) runs `fn` (returning bool) on `pool`, resumes on `ex`.
inline auto run_blocking(asio::any_io_executor ex, asio::thread_pool& pool,
                         std::function<bool()> fn) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(bool)>(
      [&pool, ex](auto handler, std::function<bool()> f) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        asio::post(pool, [shared, ex, f = std::move(f)]() {
          bool result = f();
          asio::post(ex, [shared, result]() mutable { (*shared)(result); });
        });
      },
      asio::use_awaitable, std::move(fn));
}

}  // namespace mailroom::server
