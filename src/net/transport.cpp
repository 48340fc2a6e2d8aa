#include "net/transport.hpp"

#include <fmt/format.h>

#include <array>

namespace mailroom::net {

template <typename Socket>
asio::awaitable<std::tuple<std::error_code, std::string_view>>
BasicTransport<Socket>::read_available() {
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
      auto [wait_ec] = co_await socket_.async_wait(Socket::wait_read, use_tuple);
      if (wait_ec) co_return std::tuple{wait_ec, std::string_view()};
      continue;
    }
    co_return std::tuple{ec, std::string_view(scratch.data(), n)};
  }
}

template <typename Socket>
asio::awaitable<std::error_code> BasicTransport<Socket>::write_all(std::string_view data) {
  auto buf = asio::buffer(data.data(), data.size());
  if (tls_) {
    auto [ec, n] = co_await asio::async_write(*tls_, buf, use_tuple);
    co_return ec;
  }
  auto [ec, n] = co_await asio::async_write(socket_, buf, use_tuple);
  co_return ec;
}

template <typename Socket>
asio::awaitable<std::error_code> BasicTransport<Socket>::start_tls(asio::ssl::context& ctx,
                                                                   TlsRole role,
                                                                   std::string_view server_name) {
  tls_ = std::make_unique<asio::ssl::stream<Socket&>>(socket_, ctx);
  if (role == TlsRole::Client && !server_name.empty() && server_name.front() != '[') {
    const std::string name(server_name);
    SSL* ssl = tls_->native_handle();
    SSL_set_tlsext_host_name(ssl, name.c_str());
    // Checked during the handshake; the outcome is read with SSL_get_verify_result afterwards.
    SSL_set1_host(ssl, name.c_str());
  }
  auto type =
      role == TlsRole::Server ? asio::ssl::stream_base::server : asio::ssl::stream_base::client;
  auto [ec] = co_await tls_->async_handshake(type, use_tuple);
  co_return ec;
}

template <typename Socket>
std::string BasicTransport<Socket>::tls_description() const {
  if (!tls_) return "";
  SSL* ssl = tls_->native_handle();
  return fmt::format("{} {}", SSL_get_version(ssl),
                     SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
}

template <typename Socket>
void BasicTransport<Socket>::close() {
  std::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
}

template <typename Socket>
void BasicTransport<Socket>::cancel() {
  std::error_code ignored;
  socket_.cancel(ignored);
}

template class BasicTransport<asio::ip::tcp::socket>;
template class BasicTransport<asio::local::stream_protocol::socket>;

}  // namespace mailroom::net
