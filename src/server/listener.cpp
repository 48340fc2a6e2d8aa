#include "server/listener.hpp"

#include <spdlog/spdlog.h>

#include "server/session.hpp"

namespace mailroom::server {

asio::ip::tcp::endpoint parse_endpoint(const std::string& address) {
  auto colon = address.rfind(':');
  std::string host = config::listener_host(address);
  std::error_code ec;
  auto ip = asio::ip::make_address(host == "*" ? "0.0.0.0" : host, ec);
  if (ec) throw std::runtime_error(fmt::format("listener address {}: not an IP address", address));
  auto port = static_cast<unsigned short>(std::stoul(address.substr(colon + 1)));
  return {ip, port};
}

asio::ip::tcp::acceptor bind_listener(asio::io_context& io, const config::ListenerConfig& l) {
  auto ep = parse_endpoint(l.address);
  asio::ip::tcp::acceptor acceptor(io);
  std::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("listener {} ({}): cannot listen: {}", l.name, l.address, ec.message()));
  return acceptor;
}

asio::awaitable<void> accept_loop(std::shared_ptr<ListenerSlot> slot) {
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    auto [ec, socket] = co_await slot->acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !slot->acceptor.is_open()) co_return;
    if (ec) {
      // EMFILE/ENFILE/ENOBUFS: back off instead of spinning on a full descriptor table.
      spdlog::warn("listener={} event=accept_error error=\"{}\"", slot->runtime->listener.name,
                   ec.message());
      asio::steady_timer pause(ex, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    std::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    start_session(std::move(socket), slot->runtime);
  }
}

}  // namespace mailroom::server
