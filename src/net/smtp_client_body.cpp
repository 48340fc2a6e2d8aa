#include <fmt/format.h>

#include "net/smtp_client.hpp"
#include "net/smtp_client_connection.hpp"

namespace mailroom::net {

using smtp::ClientState;

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
    auto written = co_await write_within(wire, ClientState::DataBody);
    if (!written) co_return false;
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
    auto written = co_await write_within(wire, ClientState::DataBody);
    if (!written) co_return false;
    note(TranscriptLine::Direction::Sent, fmt::format("<{} octets>", wire.size()));
    if (last) body_done_ = true;
  }
  co_return true;
}

}  // namespace mailroom::net
