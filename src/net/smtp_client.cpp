#include "net/smtp_client.hpp"

#include <fmt/format.h>

#include "net/smtp_client_connection.hpp"

namespace mailroom::net {

using smtp::ClientState;

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
  auto written = co_await write_within(out, session_.state());
  co_return written;
}

asio::awaitable<bool> SmtpClient::write_within(std::string_view bytes, smtp::ClientState stage) {
  deadline_.arm(timeout_for(stage), [this] {
    if (conn_) conn_->close();
  });
  auto ec = co_await conn_->write(bytes);
  deadline_.disarm();
  if (ec) {
    connected_ = false;
    session_.on_connection_lost(deadline_.expired() ? smtp::ConnectionEnd::Timeout
                                                    : smtp::ConnectionEnd::Closed);
    co_return false;
  }
  co_return true;
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

}  // namespace mailroom::net
