// net/transport: one connection, plaintext or TLS, behind one read/write interface, in either
// role: the server's sessions (accepted TCP) and the outbound client (TCP to an MX or relayhost,
// or a UNIX socket to an LMTP server).
//
// STARTTLS upgrades in place (RFC 3207); implicit TLS (RFC 8314) handshakes before the greeting.
// The client role sends SNI (RFC 6066 3) and asks OpenSSL to check the certificate against the
// name it expects; whether a failed check ends the session is the caller's policy (tls_client.hpp),
// so the handshake itself only fails on protocol errors. Errors are returned as values (as_tuple),
// never thrown: a peer that vanishes is an expected event, not an exception.
// Never: carries plaintext read before the handshake into the TLS stream (reads go straight to the
// socket or the TLS stream; nothing is buffered here).
#pragma once

#include <asio/ssl.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "net/asio_tuple.hpp"

namespace mailroom::net {

enum class TlsRole { Server, Client };

template <typename Socket>
class BasicTransport {
 public:
  explicit BasicTransport(Socket socket) : socket_(std::move(socket)) {}

  // Reads what the peer has sent. The view stays valid only until the next call or co_await:
  // plaintext reads go through one per-thread scratch buffer, so an idle session holds no read
  // buffer at all (10,000 idle connections must fit in well under 100 MiB).
  asio::awaitable<std::tuple<std::error_code, std::string_view>> read_available();
  asio::awaitable<std::error_code> write_all(std::string_view data);
  // Client role: `server_name` goes out as SNI and is what the certificate is checked against
  // (an empty name, or an address literal, sends no SNI and checks nothing by name).
  asio::awaitable<std::error_code> start_tls(asio::ssl::context& ctx, TlsRole role,
                                             std::string_view server_name = {});

  bool tls_active() const { return tls_ != nullptr; }
  std::string tls_description() const;  // "TLSv1.3 TLS_AES_256_GCM_SHA384" for Received:
  SSL* tls_handle() const { return tls_ ? tls_->native_handle() : nullptr; }
  void close();
  // Ends pending reads and writes with operation_aborted; the connection stays open.
  void cancel();
  Socket& socket() { return socket_; }

 private:
  Socket socket_;
  std::unique_ptr<asio::ssl::stream<Socket&>> tls_;
  std::vector<char> tls_buffer_;
};

using Transport = BasicTransport<asio::ip::tcp::socket>;
using UnixTransport = BasicTransport<asio::local::stream_protocol::socket>;

}  // namespace mailroom::net
