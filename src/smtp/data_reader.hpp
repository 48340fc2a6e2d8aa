// smtp/data_reader: the DATA body framing of RFC 5321 4.1.4 and 4.5.2, incremental.
//
// Only <CRLF>.<CRLF> ends the data (the first line counts as preceded by CRLF, so ".\r\n" at the
// start is an empty message). A bare LF or bare CR never ends it and is flagged instead: the
// session rejects such messages, which closes the SMTP smuggling hole of CVE-2023-51764 (a
// "\n.\n" that one MTA treats as the end and another as content). Leading dots are unstuffed.
// Feeding the same bytes in any split gives the same output and flags.
// Never: store more than max_message_bytes of content, or look past the terminator (the bytes
// after it are pipelined commands and belong to the session).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mailroom::smtp {

struct DataLimits {
  std::uint64_t max_message_bytes;  // unstuffed content bytes kept
  std::size_t max_line_bytes;       // text line length limit, excluding CRLF, as on the wire
};

class DataReader {
 public:
  explicit DataReader(DataLimits limits);

  // Consumes input; appends dot-unstuffed content (CRLF line endings as received) to `out`,
  // nothing once too_big(). Returns the number of bytes consumed; stops right after the
  // terminating <CRLF>.<CRLF> so the rest of `in` is pipelined commands. Returns 0 once done().
  std::size_t feed(std::string_view in, std::string& out);

  bool done() const { return state_ == State::Done; }
  bool too_big() const { return size_ > limits_.max_message_bytes; }
  bool bare_newline() const { return bare_newline_; }
  bool line_too_long() const { return line_too_long_; }
  std::uint64_t size() const { return size_; }  // unstuffed bytes seen, even after too_big

 private:
  enum class State {
    LineStart,  // after CRLF (or at the very beginning)
    Dot,        // after CRLF "."
    DotCr,      // after CRLF "." CR
    Text,       // inside a line
    Cr,         // inside a line, after CR
    Done,
  };

  void emit(char c, std::string& out);
  void emit_run(std::string_view run, std::string& out);
  void count_line_byte();
  void text_byte(char c, std::string& out);

  DataLimits limits_;
  State state_ = State::LineStart;
  std::uint64_t size_ = 0;
  std::size_t line_bytes_ = 0;
  bool bare_newline_ = false;
  bool line_too_long_ = false;
};

}  // namespace mailroom::smtp
