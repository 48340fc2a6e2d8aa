// The text checks before toml++ (config_text.hpp). A small recogniser of TOML's structure, just
// enough to know where strings and comments may begin: keys, values, arrays, inline tables and
// table headers. Once the text stops following that structure (it is then invalid TOML, and
// toml++ will say so), no string or comment begins any more, so any later non-ASCII character
// is refused: toml++ might read on through it as part of a malformed token.
#include "config/config_text.hpp"

#include <fmt/format.h>

#include <vector>

#include "config/config.hpp"
#include "util/utf8.hpp"

namespace mailroom::config {
namespace {

bool is_ascii_byte(char c) { return static_cast<unsigned char>(c) < 0x80; }
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
// TOML whitespace and newlines, as a line-ending backslash skips them.
bool is_toml_space(char c) { return is_blank(c) || c == '\n'; }
bool is_bare_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
// Where toml++ ends a bare value (its is_value_terminator, ASCII part).
bool ends_bare_value(char c) {
  return is_toml_space(c) || c == ',' || c == ']' || c == '}' || c == '#';
}

[[noreturn]] void refuse(std::string_view text, std::size_t offset, const std::string& source,
                         std::string_view what) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;  // count characters, not bytes
    }
  }
  throw ConfigError(
      fmt::format("{}:{}:{}: {} (byte offset {})", source, line, column, what, offset));
}

void check_utf8(std::string_view text, const std::string& source) {
  for (std::size_t i = 0; i < text.size();) {
    if (is_ascii_byte(text[i])) {
      ++i;
      continue;
    }
    const auto n = util::utf8_sequence_length(text, i);
    if (n == 0)
      refuse(text, i, source,
             fmt::format("not UTF-8 (octet 0x{:02X})", static_cast<unsigned char>(text[i])));
    i += n;
  }
}

enum class State {
  LineStart,   // top level, start of a line
  KeyStart,    // a key segment may begin
  KeyBare,     // inside a bare key segment
  KeyAfter,    // after a key segment: . = or (in a header) ]
  ValueStart,  // a value may begin
  ValueBare,   // a number, boolean, date...: toml++ reads it up to ends_bare_value()
  ValueAfter,  // after a value: , ] } or the end of the line
  LineEnd,     // after a table header: only a comment or the end of the line
  Broken,      // not TOML any more: nothing opens a string or comment
};

class Scanner {
 public:
  Scanner(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  void run() {
    std::size_t i = text_.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // toml++ skips a BOM
    while (i < text_.size()) i = step(i);
  }

 private:
  bool in_array() const { return !nesting_.empty() && nesting_.back() == '['; }
  bool in_inline_table() const { return !nesting_.empty() && nesting_.back() == '{'; }
  bool starts(std::size_t i, std::string_view s) const { return text_.substr(i, s.size()) == s; }

  // After a value, a comment or newline: where the next line or element starts.
  State after_newline() const {
    if (in_array()) return state_ == State::ValueAfter ? State::ValueAfter : State::ValueStart;
    return nesting_.empty() ? State::LineStart : State::Broken;
  }

  std::size_t step(std::size_t i) {
    const char c = text_[i];
    if (!is_ascii_byte(c))
      refuse(text_, i, source_, "non-ASCII character outside a string or comment");
    switch (state_) {
      case State::Broken:
        return i + 1;
      case State::KeyBare:
        if (is_bare_key_char(c)) return i + 1;
        state_ = State::KeyAfter;
        return i;
      case State::ValueBare:
        if (!ends_bare_value(c)) return i + 1;
        // "1979-05-27 07:32:00": a date and a time separated by one space are one value.
        if (c == ' ' && i + 1 < text_.size() && is_digit(text_[i + 1]) && bare_is_date(i)) {
          return i + 1;
        }
        state_ = State::ValueAfter;
        return i;
      default:
        break;
    }
    if (is_blank(c)) return i + 1;
    if (c == '\n') {
      if (state_ == State::LineStart || state_ == State::LineEnd || state_ == State::ValueStart ||
          state_ == State::ValueAfter)
        state_ = (state_ == State::ValueStart && !in_array()) ? State::Broken : after_newline();
      else
        state_ = State::Broken;
      return i + 1;
    }
    if (c == '#') {
      const bool allowed = state_ == State::LineStart || state_ == State::LineEnd ||
                           state_ == State::ValueAfter ||
                           (state_ == State::ValueStart && in_array());
      if (!allowed) {
        state_ = State::Broken;
        return i + 1;
      }
      return skip_comment(i);
    }
    switch (state_) {
      case State::LineStart:
        if (c == '[') {
          header_ = starts(i, "[[") ? 2 : 1;
          state_ = State::KeyStart;
          return i + header_;
        }
        header_ = 0;
        state_ = State::KeyStart;
        return i;
      case State::KeyStart:
        if (c == '}' && in_inline_table()) return close(i);  // {}
        if (c == '"' || c == '\'') {
          if (starts(i, "\"\"\"") || starts(i, "'''")) return broken(i);
          return skip_string(i, c, false, State::KeyAfter);
        }
        if (is_bare_key_char(c)) {
          state_ = State::KeyBare;
          return i + 1;
        }
        return broken(i);
      case State::KeyAfter:
        if (c == '.') {
          state_ = State::KeyStart;
          return i + 1;
        }
        if (c == '=' && header_ == 0) {
          state_ = State::ValueStart;
          return i + 1;
        }
        if (c == ']' && header_ > 0 && starts(i, header_ == 2 ? "]]" : "]")) {
          state_ = State::LineEnd;
          return i + header_;
        }
        return broken(i);
      case State::ValueStart:
        if (c == '"' || c == '\'') {
          const bool multi = starts(i, c == '"' ? "\"\"\"" : "'''");
          return skip_string(i, c, multi, State::ValueAfter);
        }
        if (c == '[') {
          nesting_.push_back('[');
          return i + 1;
        }
        if (c == '{') {
          nesting_.push_back('{');
          state_ = State::KeyStart;
          return i + 1;
        }
        if (c == ']' && in_array()) return close(i);  // empty array, or after a trailing comma
        if (c == '}' || c == ']' || c == ',' || c == '=') return broken(i);
        bare_start_ = i;
        state_ = State::ValueBare;
        return i + 1;
      case State::ValueAfter:
        if (c == ',' && in_array()) {
          state_ = State::ValueStart;
          return i + 1;
        }
        if (c == ',' && in_inline_table()) {
          state_ = State::KeyStart;
          return i + 1;
        }
        if ((c == ']' && in_array()) || (c == '}' && in_inline_table())) return close(i);
        return broken(i);
      default:  // LineEnd
        return broken(i);
    }
  }

  std::size_t broken(std::size_t i) {
    state_ = State::Broken;
    return i + 1;
  }

  std::size_t close(std::size_t i) {
    nesting_.pop_back();
    state_ = State::ValueAfter;
    return i + 1;
  }

  bool bare_is_date(std::size_t end) const {
    auto v = text_.substr(bare_start_, end - bare_start_);
    return v.size() == 10 && v[4] == '-' && v[7] == '-';
  }

  std::size_t skip_comment(std::size_t i) {
    while (i < text_.size() && text_[i] != '\n') ++i;
    return i;  // the newline is the next step's
  }

  // Skips a string starting at text_[i] (its opening quote), checking what toml++ cannot read in
  // basic strings; returns the index after it and sets `after` as the state. An unterminated
  // string makes the rest Broken.
  std::size_t skip_string(std::size_t i, char quote, bool multi, State after) {
    const bool basic = quote == '"';
    i += multi ? 3 : 1;
    while (i < text_.size()) {
      const char c = text_[i];
      if (basic && c == '\\') {
        std::size_t j = i + 1;
        if (j < text_.size() && !is_ascii_byte(text_[j]))
          refuse(text_, j, source_, "non-ASCII character after a backslash");
        if (multi && j < text_.size() && is_toml_space(text_[j])) {
          while (j < text_.size() && is_toml_space(text_[j])) ++j;
          if (j < text_.size() && !is_ascii_byte(text_[j]))
            refuse(text_, j, source_,
                   "non-ASCII character first after a line-ending backslash (toml++ cannot read "
                   "it there; write it as a \\u escape)");
          i = j;
        } else {
          i = j + 1;  // an escaped quote does not end the string
        }
        continue;
      }
      if (!multi && c == '\n') break;
      if (c == quote && (!multi || starts(i, std::string(3, quote)))) {
        if (!multi) {
          state_ = after;
          return i + 1;
        }
        // A closing """ may be followed by up to two more quotes that belong to the string.
        std::size_t run = 0;
        while (i + run < text_.size() && text_[i + run] == quote && run < 5) ++run;
        state_ = after;
        return i + run;
      }
      ++i;
    }
    state_ = State::Broken;
    return i;
  }

  std::string_view text_;
  const std::string& source_;
  State state_ = State::LineStart;
  std::vector<char> nesting_;  // '[' arrays and '{' inline tables we are inside
  int header_ = 0;             // 1: inside [table], 2: inside [[array of tables]]
  std::size_t bare_start_ = 0;
};

}  // namespace

void check_config_text(std::string_view text, const std::string& source_name) {
  check_utf8(text, source_name);
  Scanner(text, source_name).run();
}

}  // namespace mailroom::config
