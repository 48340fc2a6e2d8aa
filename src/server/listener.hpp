// server/listener: one bound receive connector and its accept loop.
#pragma once

#include <memory>

#include "net/asio_tuple.hpp"
#include "server/listener_runtime.hpp"

namespace mailroom::server {

// Parses "host:port" / "[v6]:port" into an endpoint; throws std::runtime_error naming it.
asio::ip::tcp::endpoint parse_endpoint(const std::string& address);

// Binds (SO_REUSEADDR) and listens; throws std::runtime_error with the address and reason.
asio::ip::tcp::acceptor bind_listener(asio::io_context& io, const config::ListenerConfig& l);

// A bound socket and the settings its next sessions get. A reload may swap `runtime` at any time
// between two accepts (server/listener_set.hpp); a session keeps the one it was accepted with.
struct ListenerSlot {
  asio::ip::tcp::acceptor acceptor;
  asio::ip::tcp::endpoint endpoint;
  std::shared_ptr<const ListenerRuntime> runtime;  // null until the listener is activated
  bool accepting = false;
};

// Accepts until the slot's acceptor is closed, starting a Session per connection with the slot's
// runtime of the moment.
asio::awaitable<void> accept_loop(std::shared_ptr<ListenerSlot> slot);

}  // namespace mailroom::server
