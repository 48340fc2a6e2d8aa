// journal/protocol_log: the SMTP protocol log, inbound (per listener) and outbound, in the shape
// of Exchange's connector protocol log: CSV (RFC 4180), one line per event, header line
//
//   date-time,connector,session-id,sequence-number,local-endpoint,remote-endpoint,event,data
//
// date-time: UTC ISO 8601 with milliseconds ("2026-11-30T13:05:01.123Z"); connector: the
// listener's name, or "outbound" / "outbound-lmtp"; session-id: the server's session id (the
// one in the server log) or the outbound connection's; sequence-number: 0, 1, 2... within the
// session; endpoints "ip:port" ("[::1]:25" for IPv6); event: "+" connect, "-" disconnect,
// ">" sent by us, "<" received from the peer, "*" information (TLS established, with its
// protocol and cipher; lost lines). A multi-line reply is one ">" or "<" line per reply line.
//
// Never logged: AUTH secrets — "AUTH PLAIN <secret>" keeps the verb and mechanism only, every
// client line inside an AUTH exchange is "<secret, N octets>" — and message content: DATA is one
// "<message, N octets>" line, a BDAT chunk "<N octets>". Bytes outside printable ASCII, "\\" and
// nothing else are escaped as \xNN / \\ (so CR, LF, NUL, ESC never reach a terminal or split a
// line); then a field holding a comma or a quote is quoted, quotes doubled (RFC 4180).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "journal/log_writer.hpp"
#include "journal/rotating_file.hpp"

namespace mailroom::journal {

inline constexpr std::string_view kProtocolLogHeader =
    "date-time,connector,session-id,sequence-number,local-endpoint,remote-endpoint,event,data\n";

LogSpec protocol_log_spec();
std::string protocol_loss_note(std::uint64_t lost, std::int64_t now_unix);

// "\\" -> "\\\\", bytes outside 0x20..0x7e -> "\xNN".
std::string escape_bytes(std::string_view data);
// A CSV field: quoted (quotes doubled) when it holds a comma, a quote or a space at an end.
std::string csv_field(std::string_view text);
// A client command as the log shows it: AUTH keeps only the verb and mechanism.
std::string redact_command(std::string_view line);
// "2026-11-30T13:05:01.123Z"
std::string iso_time_ms(std::int64_t unix_ms);
std::int64_t unix_ms_now();

struct ProtocolEvent {
  std::int64_t unix_ms = 0;
  std::string_view connector;
  std::string_view session;
  std::uint64_t sequence = 0;
  std::string_view local;
  std::string_view remote;
  char event = '*';       // + - > < *
  std::string_view data;  // raw: escaped here
};
std::string format_protocol_line(const ProtocolEvent& e);

// One session's side of the log: numbers its lines and hands them to the writer. A null writer
// makes every call a no-op (protocol_log off). Used from one thread at a time.
class ProtocolTrace {
 public:
  ProtocolTrace() = default;
  ProtocolTrace(LogWriter* writer, std::string connector, std::string session);
  bool enabled() const { return writer_ != nullptr; }
  void set_endpoints(std::string local, std::string remote);
  void connect(std::string_view note = {}) { emit('+', note); }
  void disconnect(std::string_view note = {}) { emit('-', note); }
  void info(std::string_view text) { emit('*', text); }
  // A reply or command as it went on the wire; several lines (CRLF) give one event each.
  void sent(std::string_view wire) { emit_lines('>', wire); }
  void received(std::string_view line) { emit('<', line); }
  void sent_command(std::string_view line);  // a client command: redacted as received_command
  void received_command(std::string_view line);
  void received_secret(std::size_t octets);
  void received_octets(std::string_view what, std::uint64_t octets);

 private:
  void emit(char event, std::string_view data);
  void emit_lines(char event, std::string_view wire);

  LogWriter* writer_ = nullptr;
  // The fields that do not change within a session, escaped and quoted once:
  // ",connector,session," and ",local,remote,".
  std::string session_fields_;
  std::string endpoint_fields_;
  std::uint64_t sequence_ = 0;
};

// "127.0.0.1:25" / "[::1]:25"
std::string endpoint_text(std::string_view ip, unsigned port);

// A process-unique id for an outbound connection: "o" and the same shape as the server's
// session ids.
std::string next_outbound_session_id();

}  // namespace mailroom::journal
