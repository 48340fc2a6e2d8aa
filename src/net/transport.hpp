// server/transport: one client connection, plaintext or TLS, behind one read/write interface.
//
// STARTTLS upgrades in place (RFC 3207); implicit TLS (port 465 style, RFC 8314) handshakes
// before the greeting. Errors are returned as values (as_tuple), never thrown: a client that
// vanishes is an expected event, not an exception.
#pragma once

#include <asio/ssl.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "net/asio_tuple.hpp"

namespace mailroom::net {

class Transport {
 public:
  explicit Transport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

  // Reads what the peer has sent. The view stays valid only until the next call or co_await:
  // plaintext reads go through one per-thread scratch buffer, so an idle session holds no read
  // buffer at all (10,000 idle connections must fit in well under 100 MiB).
  asio::awaitable<std::tuple<std::error_code, std::string_view>> read_available();
  asio::awaitable<std::error_code> write_all(std::string_view data);
  asio::awaitable<std::error_code> start_tls(asio::ssl::context& ctx);

  bool tls_active() const { return tls_ != nullptr; }
  std::string tls_description() const;  // "TLSv1.3 TLS_AES_256_GCM_SHA384" for Received:
  void close();
  asio::ip::tcp::socket& socket() { return socket_; }

 private:
  asio::ip::tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  std::vector<char> tls_buffer_;
};

}  // namespace mailroom::net
