#include "smtp/data_reader.hpp"

#include <algorithm>

namespace mailroom::smtp {

DataReader::DataReader(DataLimits limits) : limits_(limits) {}

void DataReader::emit(char c, std::string& out) {
  ++size_;
  if (!too_big()) out.push_back(c);
}

void DataReader::emit_run(std::string_view run, std::string& out) {
  std::uint64_t room = size_ < limits_.max_message_bytes ? limits_.max_message_bytes - size_ : 0;
  out.append(run.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(room, run.size()))));
  size_ += run.size();
}

// Counts one octet of the current line as it appears on the wire (stuffing dot included, CRLF
// excluded: the CR is counted when it turns out to be bare).
void DataReader::count_line_byte() {
  if (++line_bytes_ > limits_.max_line_bytes) line_too_long_ = true;
}

// A byte inside a line (state Text or the byte after a bare CR).
void DataReader::text_byte(char c, std::string& out) {
  if (c == '\r') {
    state_ = State::Cr;
    return;  // emitted once we know whether an LF follows
  }
  if (c == '\n') bare_newline_ = true;  // bare LF: content, never a line end here
  count_line_byte();
  emit(c, out);
  state_ = State::Text;
}

std::size_t DataReader::feed(std::string_view in, std::string& out) {
  std::size_t i = 0;
  while (i < in.size() && state_ != State::Done) {
    char c = in[i];
    switch (state_) {
      case State::LineStart:
        if (c == '.') {
          count_line_byte();
          state_ = State::Dot;
        } else {
          text_byte(c, out);
        }
        ++i;
        break;
      case State::Dot:
        if (c == '\r') {
          state_ = State::DotCr;
        } else {
          text_byte(c, out);  // the leading dot is dropped (RFC 5321 4.5.2)
        }
        ++i;
        break;
      case State::DotCr:
        if (c == '\n') {
          state_ = State::Done;
        } else {
          bare_newline_ = true;  // ".\r" then not LF: a bare CR after an unstuffed dot
          count_line_byte();
          emit('\r', out);
          text_byte(c, out);
        }
        ++i;
        break;
      case State::Cr:
        if (c == '\n') {
          emit('\r', out);
          emit('\n', out);
          line_bytes_ = 0;
          state_ = State::LineStart;
        } else {
          bare_newline_ = true;
          count_line_byte();
          emit('\r', out);
          text_byte(c, out);
        }
        ++i;
        break;
      case State::Text: {
        // Fast path: copy the run up to the next CR or LF in one go (memchr, not an octet loop:
        // this is every byte of every message).
        std::string_view rest = in.substr(i);
        std::size_t run = std::min(rest.find('\r'), rest.size());
        run = std::min(rest.substr(0, run).find('\n'), run);
        std::size_t j = i + run;
        if (j > i) {
          line_bytes_ += j - i;
          if (line_bytes_ > limits_.max_line_bytes) line_too_long_ = true;
          emit_run(in.substr(i, j - i), out);
          i = j;
        } else {
          text_byte(c, out);
          ++i;
        }
        break;
      }
      case State::Done:
        break;
    }
  }
  return i;
}

}  // namespace mailroom::smtp
