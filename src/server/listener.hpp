// server/listener: one bound receive connector and its accept loop.
#pragma once

#include "net/asio_tuple.hpp"
#include "server/listener_runtime.hpp"

namespace mailroom::server {

// Parses "host:port" / "[v6]:port" into an endpoint; throws std::runtime_error naming it.
asio::ip::tcp::endpoint parse_endpoint(const std::string& address);

// Binds (SO_REUSEADDR) and listens; throws std::runtime_error with the address and reason.
asio::ip::tcp::acceptor bind_listener(asio::io_context& io, const config::ListenerConfig& l);

// Accepts forever, starting a Session per connection.
asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, ListenerRuntime& rt);

}  // namespace mailroom::server
