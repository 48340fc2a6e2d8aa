// smtp/client_events: the vocabulary of the outbound client engine (smtp/client_session): its
// states with their names and Postfix's per-state timeouts, its options, the message it is
// given, and the events it reports. Pure data; no behaviour beyond name and timeout lookups.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "smtp/client_commands.hpp"
#include "smtp/mail_args.hpp"
#include "smtp/reply.hpp"
#include "smtp/reply_parser.hpp"

namespace mailroom::smtp {

// What the session waits for. With PIPELINING it is the command whose reply comes next.
enum class ClientState : std::uint8_t {
  Connecting,    // the edge is connecting
  Banner,        // the 220 greeting
  Ehlo,          // EHLO (or LHLO) reply
  Helo,          // HELO reply, after EHLO got 5xx
  StartTls,      // STARTTLS reply
  TlsHandshake,  // the edge runs the TLS handshake
  TlsEhlo,       // EHLO/LHLO reply inside TLS
  Auth,          // AUTH reply or 334 challenge
  Ready,         // idle between messages: nothing awaited
  Rset,
  Mail,
  Rcpt,
  Data,       // DATA reply (354)
  DataBody,   // the caller streams the body (DATA) or chunks (BDAT)
  EndOfData,  // reply to "." or BDAT LAST (LMTP: one per accepted recipient)
  Bdat,       // reply to a BDAT chunk that is not the last
  Quit,
  Done,    // QUIT answered or connection closed after it: the session ended normally
  Failed,  // the session ended early; SessionFailed said why
};
inline constexpr std::size_t kClientStateCount = 19;

std::string_view state_name(ClientState state);  // "banner", "tls-ehlo", "data-body", ...

// Postfix smtp(8) defaults, in seconds, for the edge to apply while the engine is in a state
// (the engine keeps no clock). 0: nothing is awaited from the server (Ready: the edge's own
// connection-cache idle limit applies; Postfix's smtp_connection_cache_time_limit is 2 s).
//   connect 30 (smtp_connect_timeout); banner, EHLO, HELO, STARTTLS, AUTH 300 (smtp_helo_timeout);
//   TLS handshake 300 (smtp_starttls_timeout); MAIL 300; RCPT 300; DATA 120 (smtp_data_init_...);
//   body 180 per write or chunk (smtp_data_xfer_timeout); end of data 600 (smtp_data_done_...);
//   RSET 20; QUIT 300.
inline constexpr std::array<std::uint32_t, kClientStateCount> kDefaultTimeoutsS = {
    30, 300, 300, 300, 300, 300, 300, 300, 0, 20, 300, 300, 120, 180, 600, 180, 300, 0, 0};
constexpr std::uint32_t default_timeout_s(ClientState state) {
  return kDefaultTimeoutsS[static_cast<std::size_t>(state)];
}

enum class TlsPolicy : std::uint8_t {
  None,           // never STARTTLS
  Opportunistic,  // STARTTLS when offered; plaintext if not offered or refused with 4xx/5xx
  Required,       // no TLS, no mail: the session fails (4.7.4) when STARTTLS is absent or refused
};

struct ClientCredentials {
  std::string username;
  std::string password;      // PLAIN (preferred) or LOGIN
  std::string oauth2_token;  // when set: XOAUTH2 instead of a password mechanism
  std::string authzid;       // PLAIN authorization identity, usually empty
  // "PLAIN", "LOGIN" or "XOAUTH2": that mechanism only (the tester's --auth), failing with
  // AuthUnavailable when the server does not offer it; "" lets the engine choose (above).
  std::string mechanism;
};

struct ClientOptions {
  std::string helo_name;  // our FQDN or address literal, for EHLO/HELO/LHLO
  bool lmtp = false;      // RFC 2033: LHLO, no HELO fallback, one reply per recipient after data
  bool implicit_tls = false;  // the edge did TLS before the banner (port 465): no STARTTLS
  TlsPolicy tls = TlsPolicy::Opportunistic;
  bool pipelining = true;  // use PIPELINING when offered
  bool chunking = false;   // use BDAT when offered (BINARYMIME messages use it regardless)
  // With PIPELINING and BDAT, a message of at most this size (OutboundMessage::size) may start its
  // chunks in the MAIL/RCPT flight (RFC 3030 4.2); a bigger one waits for the RCPT replies so its
  // body is not sent to a server that refused every recipient.
  std::uint64_t bdat_flight_max_bytes = 65536;
  // When set, AUTH is required: no usable mechanism offered, or no TLS (unless
  // allow_plaintext_auth), fails the session instead of sending the credentials.
  std::optional<ClientCredentials> credentials;
  bool allow_plaintext_auth = false;
  ReplyLimits reply_limits;
};

struct OutboundRecipient {
  std::string address;  // mailbox without brackets
  unsigned notify = 0;  // kNotify* bits; 0 = no NOTIFY
  std::string orcpt;    // "rfc822;address" or ""
};

struct OutboundMessage {
  std::string sender;  // "" for the null sender
  std::vector<OutboundRecipient> recipients;
  std::optional<std::uint64_t> size;  // octets as sent (CRLF line ends): SIZE= and the SIZE check
  BodyType body = BodyType::Unspecified;
  bool smtputf8 = false;            // needs SMTPUTF8 (UTF-8 headers); non-ASCII addresses imply it
  std::string ret;                  // RFC 3461 RET: "FULL", "HDRS" or ""
  std::string envid;                // RFC 3461 ENVID, raw
  std::optional<std::string> auth;  // AUTH= on MAIL (RFC 4954 5), sent only once authenticated
  // The tester's probe: MAIL and RCPT only. No DATA is sent; each recipient's result is its RCPT
  // reply (2xx: the server would take it), and the transaction is left for rset() to clear.
  bool envelope_only = false;
};

enum class SubmitStatus : std::uint8_t {
  Started,          // commands are in the output, or the message already failed locally (events)
  NotReady,         // only in Ready
  NoRecipients,     //
  InvalidEnvelope,  // SubmitResult::error and ::recipient say where
  NeedsSevenBit,    // 8BITMIME body, server without 8BITMIME: convert to 7bit or bounce (5.6.3)
  NeedsConversion,  // BINARYMIME body, server without BINARYMIME+CHUNKING: convert or bounce
};

struct SubmitResult {
  SubmitStatus status = SubmitStatus::Started;
  CommandError error = CommandError::None;
  std::optional<std::size_t> recipient;  // the recipient whose RCPT could not be built
};

enum class BodyMode : std::uint8_t { Data, Bdat };

// Why a session ended early or a result was made up locally (no server reply says it).
enum class FailureCause : std::uint8_t {
  ServerReply,        // the reply in the event says why
  ConnectionLost,     // 421 4.4.2
  Timeout,            // 421 4.4.2
  LocalAbort,         // 451 4.3.0: the caller gave up (e.g. a refused bare LF in the body)
  TlsNotOffered,      // 451 4.7.4: TlsPolicy::Required, no STARTTLS in EHLO
  TlsFailed,          // 451 4.7.5: STARTTLS refused (Required) or the handshake failed
  StartTlsInjection,  // 451 4.7.5: bytes after the STARTTLS 220, before TLS (CVE-2011-0411)
  AuthUnavailable,    // 451 4.7.0: credentials given, no PLAIN/LOGIN/XOAUTH2 offered
  AuthNeedsTls,       // 451 4.7.0: credentials given, no TLS, allow_plaintext_auth off
  MalformedReply,     // 451 4.5.0: the reply parser's error
  UnexpectedReply,    // 451 4.5.0: a reply nothing was sent for
  InvalidOptions,     // 451 4.3.5: helo_name or credentials cannot be sent
};

std::string_view failure_cause_name(FailureCause cause);  // "connection-lost", ...

// The reply that stands for `cause` in `stage` when no server reply says it (codes above), e.g.
// "421 4.4.2 lost connection with server in state rcpt". The I/O edge can use it for failures
// before the engine runs (connect timeout: Timeout in Connecting). `detail` is appended after ": ".
Reply local_failure_reply(FailureCause cause, ClientState stage, std::string_view detail = {});

enum class ConnectionEnd : std::uint8_t { Closed, Timeout, LocalAbort };

// --- events, in the order they happened; take_events() hands them out -----------------------
struct SessionReady {};   // call send_message() or quit()
struct TlsWanted {};      // start the TLS handshake now, then on_tls_established()/on_tls_failed()
struct BodyWanted {       // stream the body: DATA: dot-stuffed + end, then data_body_sent();
  std::uint32_t message;  // BDAT: bdat_chunk() then the chunk's octets, while may_send_chunk()
  BodyMode mode;
};
struct RecipientResult {    // once per recipient per message, when its fate is final
  std::uint32_t message;    // 0 for the first message on this connection
  std::size_t recipient;    // index into OutboundMessage::recipients
  ClientState stage;        // the command the reply answered (Rcpt, EndOfData, ...)
  Reply reply;              // 2xx delivered, 4xx try again later, 5xx bounce
  bool from_server = true;  // false: made up here (SIZE, SMTPUTF8, connection lost, ...)
  // NOTIFY=SUCCESS asked, delivered, but the server had no DSN: the client owes the sender a
  // "relayed" DSN (RFC 3461, relaying to a server without the extension). Never for LMTP.
  bool relayed_without_dsn = false;
  // NOTIFY=SUCCESS asked, delivered, and the server had DSN: NOTIFY went along, so the success
  // report is the next hop's to send, not ours (RFC 3461 5.2.2; Postfix smtp_rcpt_done). Never
  // for LMTP, the final delivery.
  bool dsn_passed_on = false;
};
struct MessageResult {  // after the last RecipientResult of a message
  std::uint32_t message;
  std::size_t delivered = 0, deferred = 0, bounced = 0;
};
struct SessionFailed {
  ClientState stage;
  FailureCause cause;
  Reply reply;  // the server's, or a local one with the code/enhanced code listed above
  bool from_server = false;
  bool transient() const { return reply.code < 500; }
};
struct ProtocolViolation {  // also followed by SessionFailed
  ClientState stage;
  std::optional<Reply> unexpected;           // a reply nothing was sent for
  std::optional<ReplyParseError> malformed;  // or the parser's error
};
struct CommandSent {  // transcript: a line without its CRLF; AUTH secrets replaced by "****"
  std::string line;
};
struct ReplyReceived {  // transcript: the raw lines of one reply
  std::vector<std::string> lines;
};

using ClientEvent =
    std::variant<SessionReady, TlsWanted, BodyWanted, RecipientResult, MessageResult, SessionFailed,
                 ProtocolViolation, CommandSent, ReplyReceived>;

}  // namespace mailroom::smtp
