// net/smtp_client: one outbound SMTP or LMTP connection — the I/O edge of smtp::ClientSession,
// shared by remote delivery, the smarthost, LMTP and the tester (`mailroom probe|send|shell`).
//
// The engine decides every protocol step; this class only connects (TCP or a UNIX socket),
// writes what the engine produced, reads with the engine's per-state timeout (Postfix's defaults,
// smtp/client_events.hpp, overridable), runs the TLS handshake when the engine wants it, and
// streams message bodies from a BodySource (dot-stuffed for DATA, in chunks for BDAT) so a body
// never sits in memory whole. Every command and reply goes to the transcript hook as it happens.
//
// TLS: the handshake checks the certificate against the endpoint's server name and records the
// outcome (tls_client.hpp); with `require_trusted_certificate` an untrusted peer ends the session
// as a TLS failure (4.7.5) before anything else is sent.
// Files: smtp_client.cpp (the engine's dialogue), smtp_client_connection.cpp (connecting, the TLS
// handshake), smtp_client_body.cpp (DATA and BDAT bodies), smtp_client_raw.cpp (raw mode).
// Never: sends a byte after the engine failed or finished, or reports a recipient delivered
// without a 2xx answer to its end-of-data.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/body_source.hpp"
#include "net/deadline.hpp"
#include "net/tls_client.hpp"
#include "smtp/client_session.hpp"
#include "smtp/dot_stuffer.hpp"

namespace mailroom::net {

// Where to connect.
struct ClientEndpoint {
  enum class Kind { Tcp, Unix } kind = Kind::Tcp;
  asio::ip::tcp::endpoint tcp;
  std::string unix_path;
  std::string server_name;  // the host name (SNI, certificate check, logs); may be empty
  // "mx1.example.org[192.0.2.1]:25" or "unix:/run/dovecot/lmtp", as Postfix logs relay=.
  std::string description() const;
};

// One line of the dialogue, as the tester and the protocol log show it.
struct TranscriptLine {
  enum class Direction { Sent, Received, Info } direction;
  std::string text;  // without CRLF; AUTH secrets are already masked by the engine
};

struct SmtpClientOptions {
  smtp::ClientOptions session;
  asio::ssl::context* tls_context = nullptr;  // STARTTLS or implicit TLS: required then
  bool require_trusted_certificate = false;   // "verify": chain and name must check out
  std::array<std::uint32_t, smtp::kClientStateCount> timeouts_s = smtp::kDefaultTimeoutsS;
  std::size_t body_chunk_bytes = 65536;  // reads from the BodySource; BDAT chunk size
  std::function<void(const TranscriptLine&)> transcript;
  // The connection's ends once connected ("ip:port", or the socket path) and its close: the
  // protocol log's connect and disconnect lines (journal/protocol_log).
  std::function<void(const std::string& local, const std::string& remote)> on_connect;
  std::function<void()> on_close;
};

// What a raw exchange brought back.
struct RawExchange {
  std::vector<smtp::ReceivedReply> replies;
  std::optional<smtp::ReplyParseError> malformed;
  bool closed = false;     // the server closed the connection (or it broke)
  bool timed_out = false;  // fewer replies than asked for came within the wait
};

// One message's outcome on this connection.
struct MessageDelivery {
  smtp::SubmitStatus submit = smtp::SubmitStatus::Started;
  // One per OutboundMessage recipient, by index, when submit is Started.
  std::vector<std::optional<smtp::RecipientResult>> recipients;
};

class SmtpClient {
 public:
  SmtpClient(asio::any_io_executor ex, SmtpClientOptions options);
  ~SmtpClient();
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  // Connects and runs the session to Ready (banner, EHLO/LHLO, STARTTLS, AUTH) or to its failure
  // (failure() says where and why). True when ready for a message.
  asio::awaitable<bool> open(const ClientEndpoint& endpoint);
  // Sends one message (only when ready()). A message the engine hands back (SubmitStatus other
  // than Started) was not started: the connection stays usable.
  asio::awaitable<MessageDelivery> send(const smtp::OutboundMessage& message, BodySource& body);
  // RSET between messages (after an envelope_only one); false when not ready.
  asio::awaitable<bool> rset();
  // QUIT and close; safe in any state.
  asio::awaitable<void> quit();
  void close();

  // --- raw mode: the interactive shell and the tester's security checks ----------------------
  // The bytes are the caller's; the engine is bypassed and the connection can no longer carry a
  // message (ready() is false from then on). Replies are still parsed and checked by
  // smtp::ReplyParser and everything goes to the transcript.
  // Connects and reads the greeting only (no EHLO).
  asio::awaitable<RawExchange> open_raw(const ClientEndpoint& endpoint);
  // Writes `bytes` and reads until `replies` complete replies came or `wait` passed without one
  // (0 replies: just waits `wait` for anything unsolicited).
  asio::awaitable<RawExchange> raw(std::string bytes, std::size_t replies,
                                   std::chrono::milliseconds wait);
  // STARTTLS handshake on a raw connection (after the caller's STARTTLS got its 220).
  asio::awaitable<bool> raw_start_tls();

  bool ready() const;  // connected and idle: can take another message (connection cache)
  bool connected() const { return connected_; }
  // TCP_NODELAY is on for this TCP connection (false before connecting and for UNIX sockets).
  bool nagle_off() const;
  const std::optional<smtp::SessionFailed>& failure() const { return failure_; }
  const smtp::ClientSession& session() const { return session_; }
  const std::optional<TlsPeerReport>& tls() const { return tls_; }
  // The greeting's lines as received ("220 mx.example.org ESMTP ...").
  const std::optional<std::vector<std::string>>& banner() const { return banner_; }
  const ClientEndpoint& endpoint() const { return endpoint_; }

 private:
  class Connection;  // net/smtp_client_connection.hpp
  template <typename Socket>
  class ConnectionOf;

  // smtp_client_connection.cpp: connecting, and the TLS handshake.
  asio::awaitable<bool> connect();
  void connect_failed(std::error_code ec);
  asio::awaitable<void> handshake();
  // smtp_client_body.cpp: the message body, dot-stuffed for DATA or in BDAT chunks.
  asio::awaitable<bool> stream_data_body();
  asio::awaitable<bool> stream_bdat_chunks();
  // smtp_client.cpp: the engine's dialogue and the transcript.
  // Runs the engine until it waits for the caller (Ready), or has finished.
  asio::awaitable<void> pump();
  asio::awaitable<bool> flush();
  // Writes `bytes` within the time allowed in `stage`; false (and the engine told how the
  // connection ended: timeout or closed) when that fails.
  asio::awaitable<bool> write_within(std::string_view bytes, smtp::ClientState stage);
  asio::awaitable<void> handle_events();
  asio::awaitable<void> read_once();
  void note(TranscriptLine::Direction d, std::string text);
  void note_tls(const TlsPeerReport& report);
  void note_violation(const smtp::ProtocolViolation& violation);
  std::chrono::milliseconds timeout_for(smtp::ClientState state) const;

  asio::any_io_executor ex_;
  SmtpClientOptions options_;
  smtp::ClientSession session_;
  std::unique_ptr<Connection> conn_;
  Deadline deadline_;
  ClientEndpoint endpoint_;
  bool connected_ = false;
  std::optional<smtp::SessionFailed> failure_;
  std::optional<TlsPeerReport> tls_;
  std::optional<std::vector<std::string>> banner_;
  bool raw_mode_ = false;
  bool close_noted_ = false;
  smtp::ReplyParser raw_parser_;

  // The message being sent.
  BodySource* body_ = nullptr;
  std::optional<smtp::BodyWanted> body_wanted_;
  bool body_binary_ = false;  // BINARYMIME: chunks go as they are
  bool body_done_ = false;
  std::string lookahead_;  // BDAT: the next chunk, read ahead to know which one is LAST
  std::unique_ptr<smtp::CrlfNormaliser> normaliser_;
  std::optional<std::uint32_t> message_number_;
  MessageDelivery delivery_;
  bool message_finished_ = false;
};

}  // namespace mailroom::net
