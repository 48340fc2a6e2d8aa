// smtp/reply_parser: the client side of RFC 5321 4.2: turns the bytes a server sends into Reply
// values, incrementally. The inverse of Reply::wire(): parse(r.wire()) == r for every reply
// mailroom itself sends.
//
// Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
// (RFC 5321 4.2). The enhanced status code (RFC 3463, RFC 2034) is split off when the first line
// carries one whose class is the reply's first digit ("550 5.1.1 ..."); "550 4.1.1 ..." keeps it in
// the text. Lines end at LF; a CR before it is removed, so a bare LF is tolerated (and counted).
// Control characters other than HTAB inside the text become '?' in Reply::lines, so reply text
// can go into DSNs and logs; raw_lines keep the octets as received, for transcripts only.
//
// Replies are queued in arrival order whether or not the client asked for them: ready() tells
// the client how many complete replies it holds, which is how it finds unsolicited ones. Bytes
// after a STARTTLS 220 are visible through holds_input() (reply injection: the client-side twin of
// CVE-2011-0411).
//
// Errors are sticky: once the stream is malformed nothing after it is parsed, because a client
// that resynchronises on the next plausible line can take a later reply (a QUIT's 221) for the
// answer to an earlier command (end of data) and report mail delivered that was not. Replies
// completed before the error are still handed out by next().
// Never: hold more than max_line_bytes + 1 octets of a partial line, or more than max_lines lines
// of one reply; complete replies are bounded by what the caller fed and has not taken.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"

namespace mailroom::smtp {

struct ReplyLimits {
  // RFC 5321 4.5.3.1.5 allows 512 octets with the CRLF; real servers send longer lines (Exchange's
  // 250 after DATA is ~170, some EHLO AUTH lines more), so the default is Postfix's line_length.
  std::size_t max_line_bytes = 2048;  // without the line end
  std::size_t max_lines = 128;        // per reply (EHLO replies have about 10-30)
};

enum class ReplyError : std::uint8_t {
  LineTooLong,   // a line grew past max_line_bytes (found before its end arrives)
  TooManyLines,  // a multi-line reply went past max_lines
  BadCode,       // a line does not start with a reply code 2xx-5xx (short, not digits, 1xx, 6xx..)
  BadSeparator,  // the code is followed by something other than SP, "-" or the line end
  MixedCodes,    // a line inside a multi-line reply carries another code than its first line
};

std::string_view reply_error_name(ReplyError error);  // "line-too-long", ...

struct ReplyParseError {
  ReplyError kind;
  std::size_t line_number = 0;  // 1-based, counted over everything this parser has read
  int reply_code = 0;           // the code of the reply in progress, 0 if none (MixedCodes)
  std::string excerpt;          // the offending line, control characters as '?', at most 80 octets

  // "line 3: reply code 550 inside a 250 reply: \"550 nope\"", for logs and diagnostics.
  std::string message() const;
};

struct ReceivedReply {
  Reply reply;
  std::vector<std::string> raw_lines;  // as received, without the line end; may hold any octet
};

class ReplyParser {
 public:
  explicit ReplyParser(ReplyLimits limits = {});

  // Consumes all of `bytes`; after an error, ignores them.
  void feed(std::string_view bytes);
  // The oldest complete reply not yet taken.
  std::optional<ReceivedReply> next();

  std::size_t ready() const { return ready_.size(); }  // complete replies held
  // Part of a reply held: a partial line, or the first lines of a multi-line reply.
  bool mid_reply() const { return !partial_.empty() || !raw_.empty(); }
  bool holds_input() const { return ready() > 0 || mid_reply(); }
  const std::optional<ReplyParseError>& error() const { return error_; }
  std::size_t bare_lf_lines() const { return bare_lf_lines_; }  // tolerated, for diagnostics

  // Forgets every held byte and reply (after STARTTLS: nothing read before the handshake may be
  // taken for a reply inside TLS). The error, if any, stays.
  void clear();

 private:
  void take_line(std::string_view line);
  void fail(ReplyError kind, std::string_view line);
  void finish_reply();

  ReplyLimits limits_;
  std::string partial_;              // bytes of the current line, before its LF
  std::vector<std::string> raw_;     // lines of the reply in progress
  int code_ = 0;                     // its code
  std::deque<ReceivedReply> ready_;  // complete replies, oldest first
  std::optional<ReplyParseError> error_;
  std::size_t lines_read_ = 0;
  std::size_t bare_lf_lines_ = 0;
};

// Splits a reply's text lines' common enhanced status code off (RFC 2034): the code of the first
// line, when it is "class.subject.detail" with class == code / 100, is removed from every line
// that starts with it. Used by the parser; public so callers holding raw text can do the same.
void split_enhanced_code(Reply& reply);

}  // namespace mailroom::smtp
