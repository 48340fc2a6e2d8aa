// smtp/line_buffer: frames the session's input into command lines (RFC 5321 2.3.8, 4.5.3.1.4).
//
// Lines end at LF; a CR directly before the LF is removed, so both CRLF and bare LF lines come
// out (the session decides what to do about bare LF). Memory is bounded: once the only line in
// the buffer has grown past max_line_bytes, further bytes of that line are discarded as they
// arrive and the line is reported once, truncated, with too_long set. Bytes that follow a
// complete line are never touched until that line is consumed, because the line may be DATA or
// BDAT and the bytes after it are then message content (take_buffered hands them back raw).
// Never: interpret the bytes, or hold more than max_line_bytes + 1 bytes of a partial line plus
// one appended chunk.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom::smtp {

class LineBuffer {
 public:
  explicit LineBuffer(std::size_t max_line_bytes);

  void append(std::string_view bytes);

  struct Line {
    std::string text;  // without CRLF (or bare LF)
    bool too_long = false;
  };
  // Next complete line, or nullopt if none is complete yet.
  std::optional<Line> next_line();

  std::size_t buffered() const;  // bytes held
  std::string take_buffered();   // hands back unconsumed bytes (for DATA/BDAT mode switch)
  void clear();                  // STARTTLS: discard anything pipelined after the command

 private:
  void bound_partial_line();

  std::size_t max_line_bytes_;
  std::string buf_;                    // unconsumed bytes are buf_[head_, size)
  std::size_t head_ = 0;               // start of the first unconsumed line
  std::size_t scanned_ = 0;            // buf_[head_, scanned_) is known to hold no LF
  bool discarding_ = false;            // the partial first line overflowed; drop until its LF
  bool first_line_truncated_ = false;  // the first line in buf_ was cut to max_line_bytes
};

}  // namespace mailroom::smtp
