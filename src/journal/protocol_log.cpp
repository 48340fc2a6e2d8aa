#include "journal/protocol_log.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

#include "util/ascii.hpp"

namespace mailroom::journal {

LogSpec protocol_log_spec() {
  return LogSpec{"protocol", "csv", std::string(kProtocolLogHeader), false};
}

std::string protocol_loss_note(std::uint64_t lost, std::int64_t now_unix) {
  ProtocolEvent e;
  e.unix_ms = now_unix * 1000;
  e.connector = "mailroom";
  e.event = '*';
  const auto text = fmt::format(
      "{} protocol log lines lost (log queue full or log directory not writable)", lost);
  e.data = text;
  return format_protocol_line(e);
}

std::string escape_bytes(std::string_view data) {
  std::string out;
  out.reserve(data.size());
  for (unsigned char c : data) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c > 0x7e) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string csv_field(std::string_view text) {
  const bool quote = text.find_first_of(",\"") != std::string_view::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string redact_command(std::string_view line) {
  // "AUTH" SP mechanism [SP initial-response] (RFC 4954 4): anything after the mechanism is a
  // credential (PLAIN, LOGIN's user name, XOAUTH2's bearer token).
  if (line.size() < 4 || !util::iequals(line.substr(0, 4), "AUTH")) return std::string(line);
  if (line.size() > 4 && line[4] != ' ') return std::string(line);
  auto mech_start = line.find_first_not_of(' ', 4);
  if (mech_start == std::string_view::npos) return std::string(line);
  auto mech_end = line.find(' ', mech_start);
  if (mech_end == std::string_view::npos) return std::string(line);
  auto rest = line.substr(mech_end);
  if (rest.find_first_not_of(' ') == std::string_view::npos) return std::string(line);
  return std::string(line.substr(0, mech_end)) + " <secret>";
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string iso_time_ms(std::int64_t unix_ms) {
  // gmtime_r and the formatting of the date take most of a line's cost: done once a second.
  thread_local std::int64_t cached_second = -1;
  thread_local std::string cached_prefix;  // "2026-11-30T13:05:01."
  const std::int64_t second = unix_ms / 1000;
  if (second != cached_second) {
    std::time_t t = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&t, &tm);
    cached_prefix = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second = second;
  }
  const auto ms = static_cast<int>(unix_ms % 1000);
  std::string out = cached_prefix;
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + ms / 10 % 10);
  out += static_cast<char>('0' + ms % 10);
  out += 'Z';
  return out;
}

std::string format_protocol_line(const ProtocolEvent& e) {
  std::string out = iso_time_ms(e.unix_ms);
  out += ',';
  out += csv_field(escape_bytes(e.connector));
  out += ',';
  out += csv_field(escape_bytes(e.session));
  out += ',';
  out += std::to_string(e.sequence);
  out += ',';
  out += csv_field(escape_bytes(e.local));
  out += ',';
  out += csv_field(escape_bytes(e.remote));
  out += ',';
  out += e.event;
  out += ',';
  out += csv_field(escape_bytes(e.data));
  out += '\n';
  return out;
}

std::string next_outbound_session_id() {
  static std::atomic<std::uint64_t> counter{0};
  static const auto boot = static_cast<std::uint64_t>(std::time(nullptr));
  return fmt::format("o{:x}{:05x}", boot & 0xffffff, ++counter);
}

std::string endpoint_text(std::string_view ip, unsigned port) {
  if (ip.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", ip, port);
  return fmt::format("{}:{}", ip, port);
}

ProtocolTrace::ProtocolTrace(LogWriter* writer, std::string connector, std::string session)
    : writer_(writer) {
  session_fields_ =
      "," + csv_field(escape_bytes(connector)) + "," + csv_field(escape_bytes(session)) + ",";
  endpoint_fields_ = ",,,";
}

void ProtocolTrace::set_endpoints(std::string local, std::string remote) {
  endpoint_fields_ =
      "," + csv_field(escape_bytes(local)) + "," + csv_field(escape_bytes(remote)) + ",";
}

// The same line as format_protocol_line(), from the fields prepared once per session.
void ProtocolTrace::emit(char event, std::string_view data) {
  if (!writer_) return;
  std::string line = iso_time_ms(unix_ms_now());
  line.reserve(line.size() + session_fields_.size() + endpoint_fields_.size() + data.size() + 16);
  line += session_fields_;
  line += std::to_string(sequence_++);
  line += endpoint_fields_;
  line += event;
  line += ',';
  line += csv_field(escape_bytes(data));
  line += '\n';
  writer_->submit(Stream::Protocol, std::move(line));
}

void ProtocolTrace::emit_lines(char event, std::string_view wire) {
  if (!writer_) return;
  while (!wire.empty()) {
    auto end = wire.find("\r\n");
    emit(event, wire.substr(0, end));
    if (end == std::string_view::npos) break;
    wire.remove_prefix(end + 2);
  }
}

void ProtocolTrace::received_command(std::string_view line) {
  if (!writer_) return;
  emit('<', redact_command(line));
}

void ProtocolTrace::sent_command(std::string_view line) {
  if (!writer_) return;
  emit('>', redact_command(line));
}

void ProtocolTrace::received_secret(std::size_t octets) {
  if (!writer_) return;
  emit('<', fmt::format("<secret, {} octets>", octets));
}

void ProtocolTrace::received_octets(std::string_view what, std::uint64_t octets) {
  if (!writer_) return;
  emit('<', fmt::format("<{}{} octets>", what, octets));
}

}  // namespace mailroom::journal
