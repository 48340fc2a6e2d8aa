#include "net/smtp_client_connection.hpp"

#include <fmt/format.h>

#include <type_traits>

#include "journal/protocol_log.hpp"
#include "net/smtp_client.hpp"
#include "net/transport.hpp"

namespace mailroom::net {

using smtp::ClientState;

std::string ClientEndpoint::description() const {
  if (kind == Kind::Unix) return "unix:" + unix_path;
  return fmt::format("{}[{}]:{}", server_name.empty() ? "unknown" : server_name,
                     tcp.address().to_string(), tcp.port());
}

template <typename Socket>
class SmtpClient::ConnectionOf final : public SmtpClient::Connection {
 public:
  explicit ConnectionOf(Socket socket) : transport_(std::move(socket)) {}
  asio::awaitable<std::tuple<std::error_code, std::string_view>> read() override {
    return transport_.read_available();
  }
  asio::awaitable<std::error_code> write(std::string_view data) override {
    return transport_.write_all(data);
  }
  asio::awaitable<std::error_code> start_tls(asio::ssl::context& ctx,
                                             std::string_view name) override {
    return transport_.start_tls(ctx, TlsRole::Client, name);
  }
  SSL* tls_handle() override { return transport_.tls_handle(); }
  bool nagle_off() override {
    if constexpr (std::is_same_v<Socket, asio::ip::tcp::socket>) {
      asio::ip::tcp::no_delay option;
      std::error_code ec;
      transport_.socket().get_option(option, ec);
      return !ec && option.value();
    } else {
      return false;
    }
  }
  std::string local_endpoint() override {
    if constexpr (std::is_same_v<Socket, asio::ip::tcp::socket>) {
      std::error_code ec;
      auto ep = transport_.socket().local_endpoint(ec);
      if (!ec) return journal::endpoint_text(ep.address().to_string(), ep.port());
    }
    return "";
  }
  void close() override { transport_.close(); }
  void cancel() override { transport_.cancel(); }

 private:
  BasicTransport<Socket> transport_;
};

void SmtpClient::connect_failed(std::error_code ec) {
  const bool timed_out = deadline_.expired();
  std::string why = timed_out ? std::string("Connection timed out") : ec.message();
  smtp::SessionFailed failure;
  failure.stage = ClientState::Connecting;
  failure.cause = timed_out ? smtp::FailureCause::Timeout : smtp::FailureCause::ConnectionLost;
  failure.reply = smtp::make_reply(421, "4.4.1",
                                   fmt::format("connect to {}: {}", endpoint_.description(), why));
  failure.from_server = false;
  failure_ = std::move(failure);
  note(TranscriptLine::Direction::Info, failure_->reply.summary());
}

asio::awaitable<bool> SmtpClient::connect() {
  const auto timeout = timeout_for(ClientState::Connecting);
  std::error_code ec;
  if (endpoint_.kind == ClientEndpoint::Kind::Tcp) {
    asio::ip::tcp::socket socket(ex_);
    deadline_.arm(timeout, [&socket] {
      std::error_code ignored;
      socket.close(ignored);
    });
    std::tuple<std::error_code> connected = co_await socket.async_connect(endpoint_.tcp, use_tuple);
    deadline_.disarm();
    ec = std::get<0>(connected);
    if (!ec) {
      // The end-of-data dot (or a short last BDAT chunk) is a small write right after the
      // body: without TCP_NODELAY, Nagle holds it until the peer's delayed ACK, ~40 ms per
      // message (bench scenario (h)); the server's sockets set it too (server/listener.cpp).
      std::error_code ignored;
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      conn_ = std::make_unique<ConnectionOf<asio::ip::tcp::socket>>(std::move(socket));
    }
  } else {
    asio::local::stream_protocol::socket socket(ex_);
    deadline_.arm(timeout, [&socket] {
      std::error_code ignored;
      socket.close(ignored);
    });
    asio::local::stream_protocol::endpoint path(endpoint_.unix_path);
    std::tuple<std::error_code> connected = co_await socket.async_connect(path, use_tuple);
    deadline_.disarm();
    ec = std::get<0>(connected);
    if (!ec)
      conn_ =
          std::make_unique<ConnectionOf<asio::local::stream_protocol::socket>>(std::move(socket));
  }
  if (ec) {
    connect_failed(ec);
    co_return false;
  }
  connected_ = true;
  if (options_.on_connect) {
    std::string local = endpoint_.unix_path;
    std::string remote = local;
    if (endpoint_.kind == ClientEndpoint::Kind::Tcp) {
      local = conn_->local_endpoint();
      remote = journal::endpoint_text(endpoint_.tcp.address().to_string(), endpoint_.tcp.port());
    }
    options_.on_connect(local, remote);
  }
  note(TranscriptLine::Direction::Info, "connected to " + endpoint_.description());
  co_return true;
}

asio::awaitable<void> SmtpClient::handshake() {
  if (!options_.tls_context || !conn_) co_return;
  deadline_.arm(timeout_for(ClientState::TlsHandshake), [this] {
    if (conn_) conn_->close();
  });
  auto ec = co_await conn_->start_tls(*options_.tls_context, endpoint_.server_name);
  deadline_.disarm();
  if (ec) {
    note(TranscriptLine::Direction::Info, "TLS handshake failed: " + ec.message());
    // OpenSSL's reason ("sslv3 alert handshake failure") tells the administrator more than the
    // engine's generic "handshake failed".
    failure_ = smtp::SessionFailed{
        ClientState::TlsHandshake, smtp::FailureCause::TlsFailed,
        smtp::local_failure_reply(smtp::FailureCause::TlsFailed, ClientState::TlsHandshake,
                                  "handshake failed: " + ec.message()),
        false};
    co_return;
  }
  auto report = tls_peer_report(conn_->tls_handle());
  note_tls(report);
  if (options_.require_trusted_certificate && !report.trusted()) {
    failure_ = smtp::SessionFailed{
        ClientState::TlsHandshake, smtp::FailureCause::TlsFailed,
        smtp::local_failure_reply(smtp::FailureCause::TlsFailed, ClientState::TlsHandshake,
                                  "server certificate not verified: " + report.verify_error),
        false};
    co_return;
  }
  tls_ = std::move(report);
}

}  // namespace mailroom::net
