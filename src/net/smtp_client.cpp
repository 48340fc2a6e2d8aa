#include "net/smtp_client.hpp"

#include <fmt/format.h>

#include <type_traits>

#include "journal/protocol_log.hpp"
#include "net/transport.hpp"

namespace mailroom::net {

using smtp::ClientState;

std::string ClientEndpoint::description() const {
  if (kind == Kind::Unix) return "unix:" + unix_path;
  return fmt::format("{}[{}]:{}", server_name.empty() ? "unknown" : server_name,
                     tcp.address().to_string(), tcp.port());
}

// The transport behind a connection, whatever its socket type.
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

SmtpClient::SmtpClient(asio::any_io_executor ex, SmtpClientOptions options)
    : ex_(ex), options_(std::move(options)), session_(options_.session), deadline_(ex) {}

SmtpClient::~SmtpClient() { close(); }

bool SmtpClient::nagle_off() const { return conn_ && conn_->nagle_off(); }

void SmtpClient::close() {
  deadline_.disarm();
  if (conn_) conn_->close();
  if (connected_ && !close_noted_ && options_.on_close) {
    close_noted_ = true;
    options_.on_close();
  }
  connected_ = false;
}

bool SmtpClient::ready() const {
  return connected_ && !raw_mode_ && session_.state() == ClientState::Ready &&
         session_.replies_awaited() == 0;
}

std::chrono::milliseconds SmtpClient::timeout_for(ClientState state) const {
  auto s = options_.timeouts_s[static_cast<std::size_t>(state)];
  return std::chrono::seconds(s == 0 ? 300 : s);
}

void SmtpClient::note(TranscriptLine::Direction d, std::string text) {
  if (options_.transcript) options_.transcript(TranscriptLine{d, std::move(text)});
}

// Transcript lines built outside coroutine bodies: GCC 12 mishandles class-type conditional
// expressions there.
void SmtpClient::note_tls(const TlsPeerReport& report) {
  std::string verdict = "trusted";
  if (!report.trusted()) verdict = "not trusted (" + report.verify_error + ")";
  note(TranscriptLine::Direction::Info, fmt::format("TLS established: {} {}, certificate {}",
                                                    report.protocol, report.cipher, verdict));
}

void SmtpClient::note_violation(const smtp::ProtocolViolation& v) {
  if (v.malformed) {
    note(TranscriptLine::Direction::Info, "malformed reply: " + v.malformed->message());
  } else if (v.unexpected) {
    note(TranscriptLine::Direction::Info, "unexpected reply: " + v.unexpected->summary());
  }
}

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

asio::awaitable<bool> SmtpClient::open(const ClientEndpoint& endpoint) {
  endpoint_ = endpoint;
  bool connected = co_await connect();
  if (!connected) co_return false;
  if (options_.session.implicit_tls) co_await handshake();
  if (options_.session.implicit_tls && !tls_) {
    session_.on_connection_lost(smtp::ConnectionEnd::LocalAbort);
    co_await handle_events();
    close();
    co_return false;
  }
  session_.on_connected();
  co_await pump();
  co_return ready();
}

asio::awaitable<MessageDelivery> SmtpClient::send(const smtp::OutboundMessage& message,
                                                  BodySource& body) {
  delivery_ = MessageDelivery{};
  delivery_.recipients.resize(message.recipients.size());
  auto submitted = session_.send_message(message);
  delivery_.submit = submitted.status;
  if (submitted.status != smtp::SubmitStatus::Started) co_return std::move(delivery_);
  body_ = &body;
  body_wanted_.reset();
  body_done_ = false;
  lookahead_.clear();
  body_binary_ = message.body == smtp::BodyType::BinaryMime;
  normaliser_.reset();
  message_finished_ = false;
  message_number_ = session_.messages_started() - 1;
  if (auto ec = body.rewind()) {
    note(TranscriptLine::Direction::Info, "cannot read message: " + ec.message());
  }
  co_await pump();
  body_ = nullptr;
  co_return std::move(delivery_);
}

asio::awaitable<bool> SmtpClient::rset() {
  if (!connected_ || raw_mode_) co_return false;
  const bool sent = session_.rset();
  if (!sent) co_return false;
  co_await pump();
  co_return ready();
}

asio::awaitable<void> SmtpClient::quit() {
  if (connected_ && session_.quit()) co_await pump();
  close();
}

asio::awaitable<bool> SmtpClient::flush() {
  auto out = session_.take_output();
  if (out.empty() || !connected_) co_return connected_;
  deadline_.arm(timeout_for(session_.state()), [this] {
    if (conn_) conn_->close();
  });
  auto ec = co_await conn_->write(out);
  deadline_.disarm();
  if (ec) {
    connected_ = false;
    session_.on_connection_lost(deadline_.expired() ? smtp::ConnectionEnd::Timeout
                                                    : smtp::ConnectionEnd::Closed);
    co_return false;
  }
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

// Acts on what the engine reported, in order, including what acting produced (the handshake's
// outcome: the EHLO after TLS, or the session failure when it did not work).
asio::awaitable<void> SmtpClient::handle_events() {
  for (;;) {
    auto events = session_.take_events();
    if (events.empty()) break;
    for (auto& event : events) {
      if (auto* sent = std::get_if<smtp::CommandSent>(&event)) {
        note(TranscriptLine::Direction::Sent, sent->line);
      } else if (auto* got = std::get_if<smtp::ReplyReceived>(&event)) {
        for (auto& line : got->lines) note(TranscriptLine::Direction::Received, line);
        if (!banner_) banner_ = got->lines;  // the first reply of a session is its greeting
      } else if (std::get_if<smtp::TlsWanted>(&event)) {
        co_await handshake();
        if (tls_) {
          session_.on_tls_established();
        } else {
          session_.on_tls_failed();
        }
      } else if (auto* body = std::get_if<smtp::BodyWanted>(&event)) {
        body_wanted_ = *body;
      } else if (auto* result = std::get_if<smtp::RecipientResult>(&event)) {
        if (message_number_ && result->message == *message_number_ &&
            result->recipient < delivery_.recipients.size())
          delivery_.recipients[result->recipient] = *result;
      } else if (auto* done = std::get_if<smtp::MessageResult>(&event)) {
        if (message_number_ && done->message == *message_number_) message_finished_ = true;
      } else if (auto* failed = std::get_if<smtp::SessionFailed>(&event)) {
        // A failure decided here (certificate policy) is kept over the engine's generic one.
        if (!failure_) failure_ = *failed;
        note(TranscriptLine::Direction::Info, "session failed: " + failed->reply.summary());
      } else if (auto* violation = std::get_if<smtp::ProtocolViolation>(&event)) {
        note_violation(*violation);
      }
    }
  }
}

asio::awaitable<bool> SmtpClient::stream_data_body() {
  smtp::DotStuffer stuffer;
  std::string chunk, wire;
  for (;;) {
    if (auto ec = body_->next(chunk, options_.body_chunk_bytes)) {
      note(TranscriptLine::Direction::Info, "cannot read message: " + ec.message());
      close();
      session_.on_connection_lost(smtp::ConnectionEnd::LocalAbort);
      co_return false;
    }
    wire.clear();
    if (chunk.empty()) {
      stuffer.finish(wire);
    } else {
      stuffer.feed(chunk, wire);
    }
    deadline_.arm(timeout_for(ClientState::DataBody), [this] {
      if (conn_) conn_->close();
    });
    auto ec = co_await conn_->write(wire);
    deadline_.disarm();
    if (ec) {
      connected_ = false;
      session_.on_connection_lost(deadline_.expired() ? smtp::ConnectionEnd::Timeout
                                                      : smtp::ConnectionEnd::Closed);
      co_return false;
    }
    if (chunk.empty()) break;
  }
  if (stuffer.bare_line_ends() > 0)
    note(TranscriptLine::Direction::Info,
         fmt::format("{} bare CR or LF sent as CRLF", stuffer.bare_line_ends()));
  note(TranscriptLine::Direction::Sent, fmt::format("<message, {} octets>", body_->size()));
  note(TranscriptLine::Direction::Sent, ".");
  session_.data_body_sent();
  co_return true;
}

asio::awaitable<bool> SmtpClient::stream_bdat_chunks() {
  if (!normaliser_) normaliser_ = std::make_unique<smtp::CrlfNormaliser>();
  std::string raw;
  while (!body_done_ && session_.may_send_chunk()) {
    // Read one chunk ahead: BDAT needs to know which chunk is LAST before sending it.
    if (lookahead_.empty()) {
      if (auto ec = body_->next(raw, options_.body_chunk_bytes)) {
        note(TranscriptLine::Direction::Info, "cannot read message: " + ec.message());
        close();
        session_.on_connection_lost(smtp::ConnectionEnd::LocalAbort);
        co_return false;
      }
      lookahead_ = std::move(raw);
    }
    std::string chunk = std::move(lookahead_);
    lookahead_.clear();
    if (!chunk.empty()) {
      if (auto ec = body_->next(lookahead_, options_.body_chunk_bytes)) {
        close();
        session_.on_connection_lost(smtp::ConnectionEnd::LocalAbort);
        co_return false;
      }
    }
    const bool last = lookahead_.empty();
    std::string wire;
    if (body_binary_) {
      wire = std::move(chunk);
    } else {
      normaliser_->feed(chunk, wire);
      if (last) normaliser_->finish(wire);
    }
    if (!session_.bdat_chunk(wire.size(), last)) co_return true;
    if (!co_await flush()) co_return false;
    // The BDAT line goes to the transcript before its octets do (it was noted after them).
    co_await handle_events();
    deadline_.arm(timeout_for(ClientState::DataBody), [this] {
      if (conn_) conn_->close();
    });
    auto ec = co_await conn_->write(wire);
    deadline_.disarm();
    if (ec) {
      connected_ = false;
      session_.on_connection_lost(deadline_.expired() ? smtp::ConnectionEnd::Timeout
                                                      : smtp::ConnectionEnd::Closed);
      co_return false;
    }
    note(TranscriptLine::Direction::Sent, fmt::format("<{} octets>", wire.size()));
    if (last) body_done_ = true;
  }
  co_return true;
}

asio::awaitable<void> SmtpClient::read_once() {
  const auto state = session_.state();
  deadline_.arm(timeout_for(state), [this] {
    if (conn_) conn_->close();
  });
  auto [ec, data] = co_await conn_->read();
  deadline_.disarm();
  if (ec || data.empty()) {
    connected_ = false;
    session_.on_connection_lost(deadline_.expired() ? smtp::ConnectionEnd::Timeout
                                                    : smtp::ConnectionEnd::Closed);
    co_return;
  }
  session_.on_bytes(data);
}

asio::awaitable<void> SmtpClient::pump() {
  for (;;) {
    co_await flush();
    co_await handle_events();
    if (session_.finished()) break;
    if (!connected_) {
      // Whoever lost the connection told the engine; collect what that settled.
      co_await handle_events();
      break;
    }
    if (body_wanted_ && body_ && !body_done_) {
      if (body_wanted_->mode == smtp::BodyMode::Data) {
        body_done_ = true;
        co_await stream_data_body();
        continue;
      }
      // A named result, not `if (!co_await ...) continue;`: GCC 12 miscompiles that form (the
      // next coroutine started from this loop resumed into `ud2`; tests/net/smtp_client_test).
      const bool chunks_sent = co_await stream_bdat_chunks();
      if (!chunks_sent) continue;
      if (session_.may_send_chunk() && !body_done_) continue;
    }
    if (session_.state() == ClientState::Ready && session_.replies_awaited() == 0) {
      if (!message_number_ || message_finished_ || !body_) break;
    }
    // Handling the events may have produced commands (the EHLO after a TLS handshake): they go
    // out before waiting for their replies.
    const bool flushed = co_await flush();
    if (!flushed) continue;
    co_await read_once();
  }
  if (session_.finished()) close();
}

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
