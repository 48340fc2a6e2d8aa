// smtp/reply: SMTP replies (RFC 5321 4.2) with enhanced status codes (RFC 3463, RFC 2034), and
// the table of every fixed reply text mailroom sends, so the seed documents' wording is checked
// in one place (tests/smtp/reply_test.cpp).
//
// Pure: no I/O. A Reply renders to wire bytes; multi-line replies use "code-" continuation.
// Reply text never contains CR, LF or NUL: anything taken from a client is sanitised on the way in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::smtp {

struct Reply {
  int code = 0;
  std::string enhanced;            // "2.1.0"; empty for 220 greetings and 334 challenges
  std::vector<std::string> lines;  // at least one

  // "250-a\r\n250 b\r\n"; the enhanced code, if any, prefixes every line (RFC 2034).
  std::string wire() const;
  // First line without the code, for logs.
  std::string summary() const;
  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
  // 421 and 221 end the session.
  bool closes() const { return code == 421 || code == 221; }
  bool operator==(const Reply&) const = default;
};

Reply make_reply(int code, std::string_view enhanced, std::string_view text);

// Replaces CR, LF, NUL and other control characters with '?' so client-supplied text can be
// echoed in a reply or a header without injecting lines.
std::string sanitize_text(std::string_view text, std::size_t max_len = 256);

// The fixed replies. Names say when they are sent; texts are the seeds' where the seeds have one.
namespace replies {
Reply greeting(std::string_view hostname, std::string_view banner, std::string_view date);
Reply service_not_available(std::string_view hostname);  // 421 4.3.2 at connect when full
Reply client_not_permitted();                            // 554 5.7.1 outside remote_ranges
Reply hello(std::string_view hostname, std::string_view client_ip);  // HELO
Reply ehlo(std::string_view hostname, std::string_view client_ip,
           const std::vector<std::string>& extensions);
Reply invalid_domain();                     // 501 5.5.4 Invalid domain name
Reply sender_ok();                          // 250 2.1.0 Sender OK
Reply invalid_address();                    // 550 5.1.7 Invalid address
Reply invalid_recipient_syntax();           // 501 5.1.3 Bad recipient address syntax
Reply not_authenticated();                  // 530 5.7.1 Client was not authenticated
Reply recipient_ok();                       // 250 2.1.5 Recipient OK
Reply user_unknown();                       // 550 5.1.1 User unknown
Reply unable_to_relay();                    // 550 5.7.1 Unable to relay
Reply alias_error();                        // 550 5.4.6 Routing loop detected
Reply start_mail_input();                   // 354 Start mail input; end with <CRLF>.<CRLF>
Reply queued(std::string_view message_id);  // 250 2.6.0 <id> Queued mail for delivery
Reply closing();                            // 221 2.0.0 Service closing transmission channel
Reply resetting();                          // 250 2.0.0 Resetting
Reply ok();                                 // 250 2.0.0 OK (NOOP)
Reply cannot_vrfy();                        // 252 2.1.5 Cannot VRFY user
Reply expn_disabled();                      // 502 5.5.1 EXPN command is disabled
Reply help();                               // 214 2.0.0 ...
Reply unrecognized_command();               // 500 5.3.3 Unrecognized command
Reply line_too_long();                      // 500 5.5.2 Line too long (a command line)
Reply data_line_too_long();  // 554 5.6.0 Message rejected: text line too long (after DATA's dot)
Reply unrecognized_parameter();            // 501 5.5.4 Unrecognized parameter
Reply invalid_arguments();                 // 501 5.5.4 Invalid arguments
Reply send_hello_first();                  // 503 5.5.2 Send hello first
Reply need_mail();                         // 503 5.5.2 Need mail command
Reply need_rcpt();                         // 503 5.5.2 Need rcpt command
Reply nested_mail();                       // 503 5.5.1 Sender already specified
Reply too_many_errors();                   // 421 4.7.0 Too many errors on this connection, ...
Reply timeout(std::string_view hostname);  // 421 4.4.2 <host> Error: timeout exceeded
Reply shutting_down(std::string_view hostname);  // 421 4.3.2 Service shutting down
Reply message_too_big();         // 552 5.3.4 Message size exceeds fixed maximum message size
Reply too_many_recipients();     // 452 4.5.3 Too many recipients
Reply insufficient_storage();    // 452 4.3.1 Insufficient system storage
Reply local_error();             // 451 4.3.0 Local error in processing
Reply ready_to_start_tls();      // 220 2.0.0 Ready to start TLS
Reply tls_not_available();       // 454 4.7.0 TLS not available due to temporary reason
Reply tls_already_active();      // 503 5.5.1 TLS already active
Reply encryption_required();     // 530 5.7.0 Must issue a STARTTLS command first
Reply auth_mechanism_unknown();  // 504 5.5.4 Unrecognized authentication type
Reply auth_not_enabled();        // 503 5.5.1 Authentication not enabled
Reply auth_needs_encryption();   // 538 5.7.11 Encryption required for requested authentication
                                 // mechanism
Reply bad_characters();          // 500 5.5.2 Invalid characters in command
Reply bdat_syntax_closing();     // 421 4.5.0 Invalid BDAT chunk size, ... closing ...
Reply too_many_connections_from_client();  // 421 4.7.0 Too many connections from your host
Reply connection_rate_exceeded();          // 421 4.7.0 Too many connection attempts from your host
Reply auth_already_done();                 // 503 5.5.1 Already authenticated
Reply auth_username_prompt();              // 334 VXNlcm5hbWU6
Reply auth_password_prompt();              // 334 UGFzc3dvcmQ6
Reply auth_empty_challenge();    // 334 (empty, RFC 4954 for AUTH PLAIN without initial response)
Reply auth_succeeded();          // 235 2.7.0 Authentication succeeded
Reply auth_failed();             // 535 5.7.8 Authentication unsuccessful
Reply auth_cancelled();          // 501 5.0.0 Authentication cancelled
Reply auth_bad_base64();         // 501 5.5.2 Cannot decode response
Reply auth_too_many_failures();  // 421 4.7.0 Too many authentication failures, closing
Reply smtputf8_required();       // 553 5.6.7 SMTPUTF8 required for non-ASCII address
Reply bad_sequence_bdat_data();  // 503 5.5.1 DATA not allowed after BDAT / mixing
Reply rcpt_after_bdat();
// 553 5.7.1 <addr>: Sender address rejected: not owned by user <login> (Postfix's wording)
Reply sender_not_owned(std::string_view address,
                       std::string_view login);  // 503 5.5.1 RCPT not allowed after BDAT
Reply bdat_received(std::uint64_t n);            // 250 2.0.0 <n> octets received
Reply bare_newline();          // 550 5.5.2 Bare <LF> or <CR> received; message rejected
Reply bad_binary_with_data();  // 503 5.5.1 BODY=BINARYMIME requires BDAT
}  // namespace replies

}  // namespace mailroom::smtp
