// net/blocking_bridge: awaiting work that completes on another thread from a coroutine, resuming
// on the coroutine's own executor.
//
// `run_blocking` runs a function on a thread pool (argon2 password checks, anything that may
// block); `bridge_callback` adapts an API that reports through a callback on some other thread
// (the queue's commit thread, say). Either way the awaiting coroutine resumes on `ex`, never on
// the foreign thread, so session state is only ever touched by its own executor.
// These are plain functions returning the initiated awaitable, not coroutines themselves: GCC 12
// double-destroys by-value lambda parameters of coroutine templates.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "net/asio_tuple.hpp"

namespace mailroom::net {

// co_await run_blocking(ex, pool, fn) runs `fn` (returning bool) on `pool`, resumes on `ex`.
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

// co_await bridge_callback<T>(ex, start) calls start(callback) where callback(T) may run on any
// thread; yields std::tuple<T> on `ex`. T must be copyable (an error_code, say).
template <typename T, typename Start>
auto bridge_callback(asio::any_io_executor ex, Start start) {
  return asio::async_initiate<decltype(use_tuple), void(T)>(
      [ex](auto handler, Start s) {
        // The callback handed out is a copyable std::function; the coroutine handler is not.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        s(std::function<void(T)>([shared, ex](T value) {
          asio::post(ex, [shared, value]() mutable { (*shared)(value); });
        }));
      },
      use_tuple, std::move(start));
}

}  // namespace mailroom::net
