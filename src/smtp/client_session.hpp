// smtp/client_session: one outbound SMTP or LMTP session as a pure engine (RFC 5321 3, 4.1;
// RFC 2033), for remote MX delivery, smarthosts, LMTP and the tester. Bytes and replies in;
// command bytes and events out. No I/O, no clock, no threads: the I/O edge reads and writes,
// applies default_timeout_s(state()), and runs TLS; the engine decides every protocol step.
//
// Flow: Banner -> EHLO (LHLO) -> [HELO if EHLO got 5xx, not LMTP] -> [STARTTLS -> TLS ->
// EHLO, RFC 3207 4.2: all knowledge from before TLS is dropped] -> [AUTH] -> Ready ->
// per message: [RSET] MAIL, RCPT..., DATA + body + "." or BDAT chunks -> Ready -> QUIT -> Done.
//   PIPELINING (RFC 2920) when offered: [RSET] MAIL, every RCPT and DATA go out in one flight,
//     replies are matched in order. With BDAT (RFC 3030 4.2) the chunks join the flight when the
//     message is at most bdat_flight_max_bytes; otherwise they wait for the RCPT replies.
//   354 after every RCPT failed: "." alone, its reply ignored (RFC 2920 3.1).
//   Before MAIL: SIZE over the server's limit fails the message 552 5.3.4, SMTPUTF8 needed but
//     not offered fails it 554 5.6.7 (RFC 6531), both without sending; an 8BITMIME or
//     BINARYMIME body the server cannot take is handed back for conversion (SubmitStatus).
//   DSN parameters (RFC 3461), SIZE=, BODY= and AUTH= go out only when offered (AUTH= only after
//     AUTH succeeded).
//   AUTH (RFC 4954): XOAUTH2 with a token, else PLAIN (initial response) before LOGIN; only
//     the mechanism named in ClientCredentials::mechanism when one is.
//   Results: one RecipientResult per recipient with the exact reply (2xx/4xx/5xx kept apart),
//     SMTP: the end-of-data reply for every accepted recipient; LMTP: one reply each, in RCPT
//     order. A 421 anywhere, a lost connection or a timeout makes everything not yet final
//     transient. A reply nothing was sent for, or of the wrong kind (250 to DATA, 354 to RCPT:
//     RFC 5321 4.3.2), or a malformed one is a ProtocolViolation and ends the session, deferring
//     what is not final: after that, replies cannot be matched to commands (Postfix smtp_chat.c
//     took a QUIT's 221 for the end-of-data reply after garbage, and lost mail).
// Driving it (the edge): after each call, write take_output(), then act on take_events():
//   TlsWanted -> handshake, on_tls_established(); BodyWanted -> stream the body (DotStuffer
//   output then data_body_sent(), or bdat_chunk() + chunk octets while may_send_chunk());
//   SessionReady -> send_message() or quit(); state() Done/Failed -> close.
// The body never passes through the engine: it only learns chunk sizes.
// Never: emit a line with CR or LF inside it (every line is built by smtp/client_commands), emit
// anything after a failure while replies to pipelined commands are outstanding (a 354 among them
// would take a QUIT for message text), or leave a recipient of a started message without a
// result once the session is Done or Failed.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/client_events.hpp"
#include "smtp/ehlo_capabilities.hpp"
#include "smtp/reply_parser.hpp"

namespace mailroom::smtp {

class ClientSession {
 public:
  // Invalid options (helo_name, credentials) make the session Failed at once (InvalidOptions).
  explicit ClientSession(ClientOptions options);

  // --- inputs from the I/O edge ---
  void on_connected();                    // Connecting -> Banner
  void on_bytes(std::string_view bytes);  // server bytes: parsed, each reply handled in order
  // One reply, for callers with their own parser; they must refuse bytes held after a STARTTLS
  // 220 themselves (on_bytes does: StartTlsInjection).
  void on_reply(const Reply& reply);
  void on_tls_established();
  void on_tls_failed();
  void on_connection_lost(ConnectionEnd why = ConnectionEnd::Closed);

  // --- the caller's decisions ---
  SubmitResult send_message(const OutboundMessage& message);
  void data_body_sent();  // the complete dot-stuffed body and its "." end were written
  // BDAT: appends "BDAT size [LAST]"; the caller then writes take_output() and exactly `size`
  // octets. False when no chunk may go now (see may_send_chunk()).
  bool bdat_chunk(std::uint64_t size, bool last);
  // A BDAT chunk may go now: the message is in its body phase, not failed, LAST not sent, and
  // either PIPELINING is in use or the previous chunk was answered.
  bool may_send_chunk() const;
  bool quit();  // only in Ready
  bool rset();  // only in Ready: RSET, then Ready again (after an envelope_only message)

  // --- outputs ---
  std::string take_output();
  std::vector<ClientEvent> take_events();

  // --- observers ---
  ClientState state() const;
  bool finished() const { return phase_ == ClientState::Done || phase_ == ClientState::Failed; }
  const EhloCapabilities& capabilities() const { return caps_; }
  bool esmtp() const { return esmtp_; }
  bool tls_active() const { return tls_active_; }
  bool authenticated() const { return authenticated_; }
  bool pipelining() const { return esmtp_ && caps_.pipelining && options_.pipelining; }
  std::size_t replies_awaited() const { return expects_.size(); }
  std::uint32_t messages_started() const { return messages_; }

 private:
  enum class RcptState : std::uint8_t { Pending, Accepted, Final };
  enum class AuthMechanism : std::uint8_t { Plain, Login, XOAuth2 };

  // A reply the session waits for; pipelined commands queue several.
  struct Expect {
    ClientState stage;
    std::size_t index = 0;  // Rcpt: the recipient
    bool ignore = false;    // consumed without effect (after the transaction already failed)
  };

  struct Transaction {
    std::uint32_t number = 0;
    OutboundMessage message;
    std::string mail_line;
    std::vector<std::string> rcpt_lines;
    std::vector<RcptState> rcpt;
    std::size_t next_rcpt = 0;  // without PIPELINING: the next RCPT to send
    std::size_t accepted = 0;
    std::size_t finals = 0;
    BodyMode mode = BodyMode::Data;
    bool pipelined = false;           // PIPELINING in use for this message
    bool rset_first = false;          // without PIPELINING: MAIL waits for the RSET reply
    std::vector<Reply> rcpt_replies;  // envelope_only: the 2xx of each accepted recipient
    bool mail_accepted = false;
    bool failed = false;       // no body may (still) go: recipients failed at MAIL/RCPT/DATA/BDAT
    bool body_wanted = false;  // BodyWanted emitted
    bool body_open = false;    // DATA: 354 received, data_body_sent() not yet called
    bool last_sent = false;    // "." or BDAT LAST sent
    bool ended_by_server = false;  // an end-of-data reply came: no RSET needed
    bool dsn = false;
    std::size_t delivered = 0, deferred = 0, bounced = 0;
  };

  // client_session.cpp: setup, replies, failure
  void handle(const Reply& reply);
  void send(std::string_view wire, std::string_view shown = {});
  void expect(ClientState stage, std::size_t index = 0, bool ignore = false);
  // Emplaced in place: a temporary ClientEvent trips GCC 12's -Wmaybe-uninitialized at -O2.
  template <typename Event>
  void emit(Event&& event) {
    events_.emplace_back(std::in_place_type<std::decay_t<Event>>, std::forward<Event>(event));
  }
  void on_banner(const Reply& r);
  void on_ehlo(const Reply& r, bool in_tls);
  void on_helo(const Reply& r);
  void after_hello();
  void on_starttls(const Reply& r);
  void start_auth();
  void on_auth(const Reply& r);
  void become_ready();
  void unexpected(ClientState stage, const Reply& r);  // a reply nothing, or not that, was sent for
  void malformed(const ReplyParseError& error);
  void fail(ClientState stage, FailureCause cause, const Reply& reply, bool from_server);
  std::string hello_line(bool extended) const;

  // client_transaction.cpp: one message
  bool local_verdicts(const OutboundMessage& m);
  void start_transaction();
  void send_mail_flight();
  void on_rset(const Reply& r);
  void on_mail(const Reply& r);
  void on_rcpt(const Reply& r, std::size_t index);
  void after_rcpts();
  void on_data(const Reply& r);
  void on_end_of_data(const Reply& r);
  void on_bdat(const Reply& r);
  void want_body();
  void settle(std::size_t index, ClientState stage, const Reply& r, bool from_server);
  void settle_pending(ClientState stage, const Reply& r, bool from_server, bool accepted_only);
  void maybe_finish();
  void finish_message();

  ClientOptions options_;
  ReplyParser parser_;
  ClientState phase_ = ClientState::Connecting;  // the state when no reply is awaited
  std::deque<Expect> expects_;
  std::string out_;
  std::vector<ClientEvent> events_;

  EhloCapabilities caps_;
  bool esmtp_ = false;
  bool tls_active_ = false;
  bool starttls_refused_ = false;
  bool authenticated_ = false;
  bool failed_ = false;
  bool need_rset_ = false;
  AuthMechanism auth_mechanism_ = AuthMechanism::Plain;
  int auth_step_ = 0;
  std::uint32_t messages_ = 0;
  std::optional<Transaction> tx_;
};

}  // namespace mailroom::smtp
