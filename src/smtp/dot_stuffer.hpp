// smtp/dot_stuffer: message bytes to DATA wire bytes (RFC 5321 4.5.2, 4.1.1.4), incrementally;
// the inverse of smtp/data_reader. Every line that starts with '.' gets a second one, and
// finish() ends the data with ".CRLF", after a CRLF of its own when the message did not end with
// one (so DataReader gives back the message plus that CRLF).
//
// Line endings: a server may refuse a bare CR or LF (mailroom's does, against SMTP smuggling,
// CVE-2023-51764), and a bare LF before "." is what smuggling is made of. So the stuffer never
// sends one:
//   Normalise (default): each bare LF and each bare CR becomes CRLF ("a\r\r\nb" is two line
//     breaks: the lone CR, then the CRLF). The count is kept for the transcript.
//   Refuse: feed() stops at the first bare CR or LF and returns false; the octets before it were
//     emitted. DATA cannot be cancelled in-band, so the caller must close the connection without
//     sending finish() (RFC 5321 3.8: the server discards an unterminated message) and report.
// CrlfNormaliser applies the same rule without dot-stuffing or terminator, for BDAT chunks of a
// non-BINARYMIME message (RFC 3030 3: text bodies in chunks still need CRLF line ends).
// Feeding the same bytes in any split gives the same output.
// Never: buffer a message: at most one pending CR is held between calls.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mailroom::smtp {

enum class BareLineEnd : std::uint8_t { Normalise, Refuse };

class CrlfNormaliser {
 public:
  explicit CrlfNormaliser(BareLineEnd policy = BareLineEnd::Normalise) : policy_(policy) {}

  // Appends `in` with CRLF line ends to `out`. False once a bare CR/LF was refused (then nothing
  // more is appended, now or later).
  bool feed(std::string_view in, std::string& out);
  // Flushes a CR held at the end of the input (a bare CR: CRLF, or refused).
  bool finish(std::string& out);

  bool refused() const { return refused_; }
  std::uint64_t bare_line_ends() const { return bare_line_ends_; }  // fixed or refused
  bool at_line_start() const { return at_line_start_; }             // last output was CRLF

 protected:
  bool stuff_dots_ = false;  // DotStuffer: double a '.' that starts a line

 private:
  bool bare(std::string& out);
  void emit(std::string_view run, std::string& out);

  BareLineEnd policy_;
  bool pending_cr_ = false;
  bool at_line_start_ = true;
  bool refused_ = false;
  std::uint64_t bare_line_ends_ = 0;
};

class DotStuffer : public CrlfNormaliser {
 public:
  explicit DotStuffer(BareLineEnd policy = BareLineEnd::Normalise) : CrlfNormaliser(policy) {
    stuff_dots_ = true;
  }
  // Appends the end of the data: CRLF if the message did not end with one, then ".CRLF". False
  // if the message was refused (nothing appended: do not end the data, close the connection).
  bool finish(std::string& out);
};

// One-shot helper for small messages and tests: the complete DATA wire form of `message`.
std::string dot_stuff(std::string_view message);

}  // namespace mailroom::smtp
