// server/async_bridge: a session awaits the queue's commit (which completes on the queue's
// commit thread) and resumes on its own executor.
#pragma once

#include <memory>
#include <system_error>

#include "net/blocking_bridge.hpp"
#include "queue/queue.hpp"

namespace mailroom::server {

// co_await async_commit(...) yields std::tuple<std::error_code> on the caller's executor.
inline auto async_commit(asio::any_io_executor ex, queue::Queue& q,
                         std::unique_ptr<queue::IncomingMessage> msg) {
  // shared_ptr: the start function is copied into a std::function, which needs copyable state.
  auto shared_msg = std::make_shared<std::unique_ptr<queue::IncomingMessage>>(std::move(msg));
  return net::bridge_callback<std::error_code>(
      ex, [&q, shared_msg](std::function<void(std::error_code)> done) {
        q.commit(std::move(*shared_msg), std::move(done));
      });
}

}  // namespace mailroom::server
