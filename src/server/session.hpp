// server/session: one inbound SMTP session (RFC 5321), from greeting to close.
//
// Owns the connection state (HELO, TLS, AUTH, error count) and the mail transaction (MAIL, RCPT,
// DATA/BDAT) of one client. Parsing is delegated to the pure smtp/ layer; this class decides and
// replies. Replies are buffered and flushed when no further pipelined command is waiting
// (RFC 2920), before blocking work, or when the buffer grows past a few KB. Every client-caused
// error gets a precise reply with an enhanced status code and the session goes on, until
// limits.hard_error_limit errors, when it answers 421 4.7.0 and closes. Timeouts (idle, DATA,
// total session time) answer 421 4.4.2 and close (RFC 5321 4.5.3.2).
//
// A message is answered 250 only after the queue reports it fsync'd. Plaintext pipelined after
// STARTTLS is discarded, never executed inside TLS (RFC 3207 4.2, CVE-2011-0411).
//
// Files: session.cpp (I/O loop, replies, timeouts), session_commands.cpp (HELO..QUIT, STARTTLS),
// session_data.cpp (DATA, BDAT, commit), session_auth.cpp (AUTH PLAIN/LOGIN).
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "journal/protocol_log.hpp"
#include "net/transport.hpp"
#include "queue/queue.hpp"
#include "server/listener_runtime.hpp"
#include "smtp/bdat.hpp"
#include "smtp/command.hpp"
#include "smtp/header_field_capture.hpp"
#include "smtp/line_buffer.hpp"
#include "smtp/mail_args.hpp"
#include "smtp/missing_header_fields.hpp"
#include "smtp/reply.hpp"
#include "smtp/session_state.hpp"

namespace mailroom::server {

// The mail transaction: everything RSET, EHLO, STARTTLS and a completed message clear. Where the
// session stands in it (MAIL given, RCPT given, BDAT under way) is state_'s business.
struct Transaction {
  smtp::MailArgs mail;
  std::vector<queue::EnvelopeRecipient> recipients;
  std::uint32_t refused_recipients = 0;
  // BDAT (RFC 3030): chunks accumulate here until LAST.
  std::unique_ptr<queue::IncomingMessage> bdat_message;
  smtp::BdatBody bdat_body;  // size and bare CR/LF across all chunks
  bool bdat_failed = false;  // a chunk was refused: refuse the rest, consume their bytes
  // Authenticated submission (RFC 6409 8): Date and Message-ID added when missing.
  std::unique_ptr<smtp::MissingHeaderFields> submission_fixups;
  smtp::HeaderFieldCapture message_id{"Message-ID"};  // for the tracking log's RECEIVE
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // The session keeps `rt` (its listener's settings when it was accepted) until it ends: a
  // reload gives later sessions new settings, never this one (server/reload.hpp).
  Session(asio::ip::tcp::socket socket, std::shared_ptr<const ListenerRuntime> rt,
          std::string session_id);
  ~Session();
  // Runs the whole session; never throws.
  asio::awaitable<void> run();
  // The server is stopping (server/shutdown.hpp): waiting for a command, the session answers
  // 421 4.3.2 and closes now; busy (DATA, BDAT, a commit), when it next waits for one.
  void begin_shutdown();
  // Closes the connection without a reply (shutdown grace period over).
  void abort(const std::string& why) { close(why); }

 private:
  using Clock = std::chrono::steady_clock;

  // --- I/O (session.cpp) ---
  asio::awaitable<bool> fill(std::chrono::seconds timeout);            // read more into lines_
  asio::awaitable<std::optional<smtp::LineBuffer::Line>> read_line();  // flushes, then reads
  asio::awaitable<bool> flush();
  void reply(const smtp::Reply& r);                       // buffer a reply, count errors
  asio::awaitable<void> reply_now(const smtp::Reply& r);  // buffer and flush
  asio::awaitable<void> watchdog();
  // `limit` names the setting for the log when it fires ("session" if the session's end is sooner).
  void set_deadline(std::chrono::seconds timeout, const char* limit = "idle_timeout_s");
  void close(const std::string& why);
  asio::awaitable<void> serve_commands();
  asio::awaitable<void> dispatch(const smtp::Command& cmd);
  asio::awaitable<void> error_delay();
  bool connection_rate_exceeded();  // records this connection in the client ledger

  // --- commands (session_commands.cpp) ---
  void on_helo(const smtp::Command& cmd, bool extended);
  void on_mail(const smtp::Command& cmd);
  void on_rcpt(const smtp::Command& cmd);
  void on_rset(const smtp::Command& cmd);
  void on_vrfy(const smtp::Command& cmd);
  void on_quit(const smtp::Command& cmd);
  asio::awaitable<void> on_starttls(const smtp::Command& cmd);
  void reset_transaction();
  bool require_no_args(const smtp::Command& cmd);
  bool auth_offered() const;
  bool starttls_offered() const;

  // --- message data (session_data.cpp) ---
  asio::awaitable<void> on_data(const smtp::Command& cmd);
  asio::awaitable<void> on_bdat(const smtp::Command& cmd);
  enum class ChunkRead { Done, Lost, TooSlow };
  using ChunkSink = std::function<void(std::string_view)>;
  asio::awaitable<ChunkRead> read_chunk(std::uint64_t n, const ChunkSink& sink, bool enforce_rate);
  asio::awaitable<void> commit_message(std::unique_ptr<queue::IncomingMessage> msg);
  std::unique_ptr<queue::IncomingMessage> begin_message(std::error_code& ec);
  std::string received_header(const std::string& message_id) const;
  std::error_code append_body(queue::IncomingMessage& msg, std::string_view bytes);
  std::error_code finish_body(queue::IncomingMessage& msg);
  bool sender_owned(const smtp::Address& sender) const;
  bool data_rate_too_low(Clock::time_point started, std::uint64_t bytes) const;

  // --- AUTH (session_auth.cpp) ---
  asio::awaitable<void> on_auth(const smtp::Command& cmd);
  asio::awaitable<std::optional<std::string>> auth_response(std::optional<std::string> given,
                                                            smtp::Reply prompt);
  asio::awaitable<bool> check_password(const std::string& user, const std::string& password);
  asio::awaitable<void> auth_result(bool ok, const std::string& user);
  bool client_locked_out() const;  // too many AUTH failures from this address lately

  void log_state(smtp::StateChange change);

  std::shared_ptr<const ListenerRuntime> rt_owner_;
  const ListenerRuntime& rt_;
  net::Transport transport_;
  std::string id_;
  std::string client_ip_;
  std::string local_ip_;  // ours on this connection: postmaster@[local_ip_] is local
  // The protocol log's view of this session: a no-op unless the listener has protocol_log on.
  journal::ProtocolTrace trace_;
  smtp::LineBuffer lines_;
  std::string out_;

  // connection state
  smtp::SessionState state_;  // command order (smtp/session_state.hpp)
  std::string helo_;          // the HELO/EHLO argument, for Received:
  std::string auth_user_;
  std::uint32_t errors_ = 0;
  std::uint32_t unflushed_replies_ = 0;  // replies in out_: capped by max_pipelined_commands
  std::uint32_t auth_failures_ = 0;
  bool closing_ = false;
  bool closing_requested_ = false;  // QUIT: flush the 221, then close
  bool reading_ = false;
  bool writing_ = false;
  bool timed_out_ = false;
  bool awaiting_command_ = false;  // reading the next command line (not message data)
  bool shutting_down_ = false;
  std::uint32_t messages_ = 0;
  Transaction tx_;

  Clock::time_point session_deadline_;
  Clock::time_point deadline_;
  const char* deadline_limit_ = "idle_timeout_s";
  asio::steady_timer watchdog_timer_;
  asio::steady_timer auth_delay_timer_;         // the wait before a 535; close() cancels it
  asio::steady_timer* tarpit_timer_ = nullptr;  // error_delay()'s, while it waits
};

// Starts a session for an accepted socket (the listener's acceptor calls this).
void start_session(asio::ip::tcp::socket socket, std::shared_ptr<const ListenerRuntime> rt);

}  // namespace mailroom::server
