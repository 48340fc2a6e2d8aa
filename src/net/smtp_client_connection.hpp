// net/smtp_client_connection: SmtpClient's private seam between the session logic and its socket.
// Connection is the transport behind one client connection, whatever its socket type (TCP to an
// MX or relayhost, a UNIX socket to an LMTP server); smtp_client_connection.cpp builds it —
// connecting within the engine's Connecting timeout, TCP_NODELAY on TCP — and runs the TLS
// handshake (implicit TLS, or after the engine's STARTTLS), recording the certificate check
// against the endpoint's server name (tls_client.hpp).
// Never: included outside net/smtp_client*.cpp; buffers what it reads (plaintext read before the
// handshake never reaches the TLS stream, RFC 3207 4.2; transport.hpp); throws on a network error
// (errors are values); lets the session go on past an untrusted certificate when
// `require_trusted_certificate` asks for a trusted one.
#pragma once

#include <asio/ssl.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>

#include "net/smtp_client.hpp"

namespace mailroom::net {

class SmtpClient::Connection {
 public:
  virtual ~Connection() = default;
  virtual asio::awaitable<std::tuple<std::error_code, std::string_view>> read() = 0;
  virtual asio::awaitable<std::error_code> write(std::string_view data) = 0;
  virtual asio::awaitable<std::error_code> start_tls(asio::ssl::context& ctx,
                                                     std::string_view name) = 0;
  virtual SSL* tls_handle() = 0;
  virtual bool nagle_off() = 0;
  virtual std::string local_endpoint() = 0;  // "ip:port"; "" for a UNIX socket
  virtual void close() = 0;
  virtual void cancel() = 0;
};

}  // namespace mailroom::net
