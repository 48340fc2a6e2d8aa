#include "net/smtp_client.hpp"
#include "net/smtp_client_connection.hpp"

namespace mailroom::net {

using smtp::ClientState;

asio::awaitable<RawExchange> SmtpClient::open_raw(const ClientEndpoint& endpoint) {
  raw_mode_ = true;
  endpoint_ = endpoint;
  RawExchange none;
  const bool connected = co_await connect();
  if (!connected) {
    none.closed = true;
    co_return none;
  }
  if (options_.session.implicit_tls) {
    const bool tls_ok = co_await raw_start_tls();
    if (!tls_ok) {
      none.closed = true;
      co_return none;
    }
  }
  RawExchange greeting = co_await raw("", 1, timeout_for(ClientState::Banner));
  if (!greeting.replies.empty()) banner_ = greeting.replies.front().raw_lines;
  co_return greeting;
}

asio::awaitable<RawExchange> SmtpClient::raw(std::string bytes, std::size_t replies,
                                             std::chrono::milliseconds wait) {
  raw_mode_ = true;
  RawExchange out;
  if (!connected_ || !conn_) {
    out.closed = true;
    co_return out;
  }
  if (!bytes.empty()) {
    for (std::size_t start = 0; start < bytes.size();) {
      auto nl = bytes.find("\r\n", start);
      auto end = nl == std::string::npos ? bytes.size() : nl;
      note(TranscriptLine::Direction::Sent, bytes.substr(start, end - start));
      start = nl == std::string::npos ? bytes.size() : nl + 2;
    }
    deadline_.arm(wait, [this] {
      if (conn_) conn_->close();
    });
    const std::error_code write_ec = co_await conn_->write(bytes);
    deadline_.disarm();
    if (write_ec) {
      connected_ = false;
      out.closed = true;
      co_return out;
    }
  }
  for (;;) {
    while (auto reply = raw_parser_.next()) {
      for (const auto& line : reply->raw_lines) note(TranscriptLine::Direction::Received, line);
      out.replies.push_back(std::move(*reply));
    }
    if (raw_parser_.error()) {
      out.malformed = *raw_parser_.error();
      co_return out;
    }
    if (replies > 0 && out.replies.size() >= replies) co_return out;
    // Waits `wait` for the next bytes; a deadline that passes ends this exchange, not the
    // connection (the read is cancelled, the socket stays open).
    deadline_.arm(wait, [this] {
      if (conn_) conn_->cancel();
    });
    auto [ec, data] = co_await conn_->read();
    deadline_.disarm();
    if (deadline_.expired()) {
      out.timed_out = replies > 0;
      co_return out;
    }
    if (ec || data.empty()) {
      connected_ = false;
      out.closed = true;
      co_return out;
    }
    raw_parser_.feed(data);
  }
}

asio::awaitable<bool> SmtpClient::raw_start_tls() {
  raw_mode_ = true;
  raw_parser_.clear();  // RFC 3207 4.2: nothing read before the handshake counts
  co_await handshake();
  co_return tls_.has_value();
}

}  // namespace mailroom::net
