#include "net/transport.hpp"

#include <fmt/format.h>

#include <array>

namespace mailroom::net {

using asio::use_awaitable;

asio::awaitable<std::tuple<std::error_code, std::string_view>> Transport::read_available() {
  if (tls_) {
    if (tls_buffer_.empty()) tls_buffer_.resize(16384);
    auto [ec, n] = co_await tls_->async_read_some(asio::buffer(tls_buffer_), use_tuple);
    co_return std::tuple{ec, std::string_view(tls_buffer_.data(), n)};
  }
  static thread_local std::array<char, 65536> scratch;
  if (!socket_.non_blocking()) {
    std::error_code ignored;
    socket_.non_blocking(true, ignored);
  }
  for (;;) {
    std::error_code ec;
    std::size_t n = socket_.read_some(asio::buffer(scratch), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      auto [wait_ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, use_tuple);
      if (wait_ec) co_return std::tuple{wait_ec, std::string_view()};
      continue;
    }
    co_return std::tuple{ec, std::string_view(scratch.data(), n)};
  }
}

asio::awaitable<std::error_code> Transport::write_all(std::string_view data) {
  auto buf = asio::buffer(data.data(), data.size());
  if (tls_) {
    auto [ec, n] = co_await asio::async_write(*tls_, buf, use_tuple);
    co_return ec;
  }
  auto [ec, n] = co_await asio::async_write(socket_, buf, use_tuple);
  co_return ec;
}

asio::awaitable<std::error_code> Transport::start_tls(asio::ssl::context& ctx) {
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, ctx);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, use_tuple);
  co_return ec;
}

std::string Transport::tls_description() const {
  if (!tls_) return "";
  SSL* ssl = const_cast<asio::ssl::stream<asio::ip::tcp::socket&>&>(*tls_).native_handle();
  return fmt::format("{} {}", SSL_get_version(ssl),
                     SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
}

void Transport::close() {
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace mailroom::net
