#include "smtp/reply.hpp"

#include <fmt/format.h>

namespace mailroom::smtp {

std::string Reply::wire() const {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    bool last = i + 1 == lines.size();
    out += fmt::format("{}{}", code, last ? ' ' : '-');
    if (!enhanced.empty()) out += enhanced + (lines[i].empty() ? "" : " ");
    out += lines[i];
    out += "\r\n";
  }
  if (lines.empty()) out = fmt::format("{} {}\r\n", code, enhanced);
  return out;
}

std::string Reply::summary() const {
  return fmt::format("{} {}{}{}", code, enhanced, enhanced.empty() ? "" : " ",
                     lines.empty() ? "" : lines.front());
}

Reply make_reply(int code, std::string_view enhanced, std::string_view text) {
  return Reply{code, std::string(enhanced), {std::string(text)}};
}

std::string sanitize_text(std::string_view text, std::size_t max_len) {
  std::string out;
  out.reserve(std::min(text.size(), max_len));
  for (char c : text) {
    if (out.size() >= max_len) break;
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  return out;
}

namespace replies {

Reply greeting(std::string_view hostname, std::string_view banner, std::string_view date) {
  return make_reply(220, "", fmt::format("{} {} ready at {}", hostname, banner, date));
}
Reply service_not_available(std::string_view hostname) {
  return make_reply(421, "4.3.2",
                    fmt::format("{} Service not available, too many connections", hostname));
}
Reply client_not_permitted() {
  return make_reply(554, "5.7.1", "Client host rejected: access denied");
}
Reply hello(std::string_view hostname, std::string_view client_ip) {
  // The seeds show HELO answered without an enhanced code; RFC 2034 applies to EHLO sessions
  // only after the capability is announced, so keep the plain form for HELO.
  return make_reply(250, "", fmt::format("{} Hello [{}]", hostname, client_ip));
}
Reply ehlo(std::string_view hostname, std::string_view client_ip,
           const std::vector<std::string>& extensions) {
  Reply r{250, "", {fmt::format("{} Hello [{}]", hostname, client_ip)}};
  for (auto& e : extensions) r.lines.push_back(e);
  return r;
}
Reply invalid_domain() { return make_reply(501, "5.5.4", "Invalid domain name"); }
Reply sender_ok() { return make_reply(250, "2.1.0", "Sender OK"); }
Reply invalid_address() { return make_reply(550, "5.1.7", "Invalid address"); }
Reply invalid_recipient_syntax() {
  return make_reply(501, "5.1.3", "Bad recipient address syntax");
}
Reply not_authenticated() { return make_reply(530, "5.7.1", "Client was not authenticated"); }
Reply recipient_ok() { return make_reply(250, "2.1.5", "Recipient OK"); }
Reply user_unknown() { return make_reply(550, "5.1.1", "User unknown"); }
Reply unable_to_relay() { return make_reply(550, "5.7.1", "Unable to relay"); }
Reply alias_error() { return make_reply(550, "5.4.6", "Routing loop detected"); }
Reply start_mail_input() { return make_reply(354, "", "Start mail input; end with <CRLF>.<CRLF>"); }
Reply queued(std::string_view message_id) {
  return make_reply(250, "2.6.0", fmt::format("<{}> Queued mail for delivery", message_id));
}
Reply closing() { return make_reply(221, "2.0.0", "Service closing transmission channel"); }
Reply resetting() { return make_reply(250, "2.0.0", "Resetting"); }
Reply ok() { return make_reply(250, "2.0.0", "OK"); }
Reply cannot_vrfy() { return make_reply(252, "2.1.5", "Cannot VRFY user"); }
Reply expn_disabled() { return make_reply(502, "5.5.1", "EXPN command is disabled"); }
Reply help() {
  return Reply{214,
               "2.0.0",
               {"Commands supported:", "HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP",
                "STARTTLS AUTH", "See RFC 5321"}};
}
Reply unrecognized_command() { return make_reply(500, "5.3.3", "Unrecognized command"); }
Reply line_too_long() { return make_reply(500, "5.5.2", "Line too long"); }
Reply data_line_too_long() {
  return make_reply(554, "5.6.0", "Message rejected: text line too long");
}
Reply unrecognized_parameter() { return make_reply(501, "5.5.4", "Unrecognized parameter"); }
Reply invalid_arguments() { return make_reply(501, "5.5.4", "Invalid arguments"); }
Reply send_hello_first() { return make_reply(503, "5.5.2", "Send hello first"); }
Reply need_mail() { return make_reply(503, "5.5.2", "Need mail command"); }
Reply need_rcpt() { return make_reply(503, "5.5.2", "Need rcpt command"); }
Reply nested_mail() { return make_reply(503, "5.5.1", "Sender already specified"); }
Reply too_many_errors() {
  return make_reply(421, "4.7.0",
                    "Too many errors on this connection, closing transmission channel");
}
Reply timeout(std::string_view hostname) {
  return make_reply(421, "4.4.2", fmt::format("{} Error: timeout exceeded", hostname));
}
Reply shutting_down(std::string_view hostname) {
  return make_reply(421, "4.3.2", fmt::format("{} Service shutting down", hostname));
}
Reply message_too_big() {
  return make_reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
}
Reply too_many_recipients() { return make_reply(452, "4.5.3", "Too many recipients"); }
Reply insufficient_storage() { return make_reply(452, "4.3.1", "Insufficient system storage"); }
Reply local_error() { return make_reply(451, "4.3.0", "Local error in processing"); }
Reply ready_to_start_tls() { return make_reply(220, "2.0.0", "Ready to start TLS"); }
Reply tls_not_available() {
  return make_reply(454, "4.7.0", "TLS not available due to temporary reason");
}
Reply tls_already_active() { return make_reply(503, "5.5.1", "TLS already active"); }
Reply encryption_required() {
  return make_reply(530, "5.7.0", "Must issue a STARTTLS command first");
}
Reply auth_mechanism_unknown() {
  return make_reply(504, "5.5.4", "Unrecognized authentication type");
}
Reply auth_not_enabled() { return make_reply(503, "5.5.1", "Authentication not enabled"); }
Reply auth_needs_encryption() {
  return make_reply(538, "5.7.11", "Encryption required for requested authentication mechanism");
}
Reply bad_characters() { return make_reply(500, "5.5.2", "Invalid characters in command"); }
Reply bdat_syntax_closing() {
  // RFC 5321 3.8: closing means 421; RFC 3463 3.6 keeps X.5.4 (and X.5.2) for permanent errors,
  // so the transient code is the generic protocol status 4.5.0.
  return make_reply(421, "4.5.0",
                    "Invalid BDAT chunk size, cannot resynchronize, closing transmission channel");
}
Reply too_many_connections_from_client() {
  return make_reply(421, "4.7.0", "Too many connections from your host, try again later");
}
Reply connection_rate_exceeded() {
  return make_reply(421, "4.7.0", "Too many connection attempts from your host, try again later");
}
Reply auth_already_done() { return make_reply(503, "5.5.1", "Already authenticated"); }
Reply auth_username_prompt() { return make_reply(334, "", "VXNlcm5hbWU6"); }
Reply auth_password_prompt() { return make_reply(334, "", "UGFzc3dvcmQ6"); }
Reply auth_empty_challenge() { return Reply{334, "", {""}}; }
Reply auth_succeeded() { return make_reply(235, "2.7.0", "Authentication succeeded"); }
Reply auth_failed() { return make_reply(535, "5.7.8", "Authentication unsuccessful"); }
Reply auth_cancelled() { return make_reply(501, "5.0.0", "Authentication cancelled"); }
Reply auth_bad_base64() { return make_reply(501, "5.5.2", "Cannot decode response"); }
Reply auth_too_many_failures() {
  return make_reply(421, "4.7.0", "Too many authentication failures, closing transmission channel");
}
Reply smtputf8_required() {
  return make_reply(553, "5.6.7", "SMTPUTF8 required for non-ASCII address");
}
Reply bad_sequence_bdat_data() {
  return make_reply(503, "5.5.1", "DATA not allowed after BDAT in the same transaction");
}
Reply sender_not_owned(std::string_view address, std::string_view login) {
  return make_reply(553, "5.7.1",
                    fmt::format("<{}>: Sender address rejected: not owned by user {}",
                                sanitize_text(address), sanitize_text(login)));
}
Reply rcpt_after_bdat() {
  return make_reply(503, "5.5.1", "RCPT not allowed after BDAT in the same transaction");
}
Reply bdat_received(std::uint64_t n) {
  return make_reply(250, "2.0.0", fmt::format("{} octets received", n));
}
Reply bare_newline() {
  return make_reply(550, "5.5.2",
                    "Message rejected: bare <LF> or <CR> received, use <CRLF> line endings");
}
Reply bad_binary_with_data() {
  return make_reply(503, "5.5.1", "BODY=BINARYMIME requires BDAT, not DATA");
}

}  // namespace replies
}  // namespace mailroom::smtp
