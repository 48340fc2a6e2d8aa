// Drives a test's io_context until a condition holds. The 30 s bound only turns a hang into a
// failure; no test asserts on how fast anything is.
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>

namespace mailroom::dns::testing {

inline bool run_until(asio::io_context& io, const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  io.restart();
  while (!done()) {
    if (io.stopped() || std::chrono::steady_clock::now() > deadline) return false;
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return true;
}

// co_awaits `op` on `io` and returns its result.
template <typename T>
T await(asio::io_context& io, asio::awaitable<T> op) {
  std::optional<T> result;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T value) {
    error = e;
    result = std::move(value);
  });
  bool finished = run_until(io, [&] { return result.has_value(); });
  if (error) std::rethrow_exception(error);
  if (!finished) throw std::runtime_error("the lookup did not complete");
  return std::move(*result);
}

}  // namespace mailroom::dns::testing
