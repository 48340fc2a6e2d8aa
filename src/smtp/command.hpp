// smtp/command: splits one command line (RFC 5321 4.1, 4.1.1) into its verb and argument text.
//
// Pure and total: any byte string yields a Command (Verb::Unknown for anything unrecognised);
// argument syntax is checked by the per-command parsers (mail_args, bdat, auth). The line given
// here never contains the CRLF; the session rejects lines with forbidden bytes (see
// contains_forbidden_bytes) before interpreting them, so a NUL or bare CR cannot hide a second
// command inside one line.
#pragma once

#include <string>
#include <string_view>

namespace mailroom::smtp {

enum class Verb {
  Helo,
  Ehlo,
  Mail,
  Rcpt,
  Data,
  Bdat,
  Rset,
  Noop,
  Quit,
  Vrfy,
  Expn,
  Help,
  Auth,
  StartTls,
  Unknown
};

struct Command {
  Verb verb = Verb::Unknown;
  std::string verb_text;  // the verb as received, uppercased, at most 32 octets (for logs)
  std::string args;       // text after the verb, leading/trailing SP and HTAB trimmed
};

// `line` has no CRLF. The verb is case-insensitive and ends at the first SP or HTAB. For MAIL and
// RCPT the verb_text is "MAIL"/"RCPT" and args is e.g. "FROM:<a@b> SIZE=10".
Command parse_command(std::string_view line);

// True if the line holds NUL, CR (any CR here is bare: the CRLF was already stripped), LF, or any
// other C0 control except HTAB. Such lines are refused rather than interpreted.
bool contains_forbidden_bytes(std::string_view line);

// "MAIL", "STARTTLS", ...; "UNKNOWN" for Verb::Unknown.
std::string_view verb_name(Verb verb);

}  // namespace mailroom::smtp
