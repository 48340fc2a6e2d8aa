// client/message_builder: the test message `mailroom send` writes — RFC 5322 header fields
// (Date, From, To, Subject, Message-Id, X-Mailer, then the caller's), a text body, and with
// attachments a MIME multipart/mixed message (RFC 2045-2049) with base64 parts.
//
// Non-ASCII text is encoded so the message stays 7-bit wherever it can: header text as RFC 2047
// encoded words (UTF-8, "B" encoding, each word at most 75 octets, folded), the display name of
// an address field the same way, a body as quoted-printable (RFC 2045 6.7), file names as RFC
// 2231 parameters. Only an address that is itself non-ASCII (RFC 6531 / 6532) stays raw UTF-8:
// that message needs SMTPUTF8 (BuiltMessage::utf8_headers).
// Pure: the caller supplies the date, the Message-Id and the MIME boundary (tests pin them).
// Never: emit a bare CR or LF, a header line without its field name, or a text line over 998
// octets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailroom::client {

struct Attachment {
  std::string name;          // the file name shown to the recipient; "" for none
  std::string content_type;  // "" -> guessed from the name (application/octet-stream)
  std::string bytes;
};

struct MessageSpec {
  std::string from;                    // header From (an address, or "Name <address>")
  std::vector<std::string> to;         // header To
  std::optional<std::string> subject;  // default "test <date>", as swaks does
  std::optional<std::string> body;     // default "This is a test mailing"
  // "Name: value" fields: one whose name matches a default field replaces it (case-insensitive),
  // the others are added after the defaults, in order (swaks's --header).
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<Attachment> attachments;
  std::string date;        // RFC 5322 3.3
  std::string message_id;  // without angle brackets
  std::string mailer = "mailroom";
  std::string boundary = "mailroom-boundary";
};

struct BuiltMessage {
  std::string bytes;          // CRLF line ends, no dot-stuffing
  bool eight_bit = false;     // holds octets over 127: BODY=8BITMIME
  bool utf8_headers = false;  // a raw UTF-8 address in a header field: needs SMTPUTF8
};

BuiltMessage build_message(const MessageSpec& spec);

// --data: a complete message as the user wrote it: line ends made CRLF, and a final "." line
// (which swaks allows) dropped, as DATA adds its own.
BuiltMessage raw_message(std::string_view text);

// "Name: value" -> {"Name", "value"}; nullopt when the name is empty or not printable ASCII
// without ':' (RFC 5322 2.2), or the value holds CR, LF or NUL.
std::optional<std::pair<std::string, std::string>> parse_header_field(std::string_view text);

// --- the pieces, for tests ----------------------------------------------------------------
bool is_ascii(std::string_view text);
// RFC 2047 encoded words for unstructured text (UTF-8, "B"), folded with CRLF SP; ASCII text is
// returned as it is.
std::string encode_words(std::string_view text);
// RFC 2045 6.7 quoted-printable of text whose line ends are CRLF; lines at most 76 octets.
std::string quoted_printable(std::string_view text);
// Base64 in lines of 76 characters, each ending in CRLF.
std::string base64_lines(std::string_view bytes);
// Every bare LF or CR becomes CRLF.
std::string to_crlf(std::string_view text);
// By file extension; application/octet-stream when unknown.
std::string guess_content_type(std::string_view file_name);

}  // namespace mailroom::client
