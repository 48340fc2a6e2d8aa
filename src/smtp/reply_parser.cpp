#include "smtp/reply_parser.hpp"

#include <fmt/format.h>

#include "util/ascii.hpp"

namespace mailroom::smtp {

namespace {

constexpr std::size_t kExcerptBytes = 80;

std::string excerpt_of(std::string_view line) { return sanitize_text(line, kExcerptBytes); }

// RFC 5321 4.2: text may hold HTAB and printable octets; UTF-8 is allowed after SMTPUTF8
// (RFC 6531). Other controls (a CR left inside the line, NUL, ESC) would reach DSNs.
std::string clean_text(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) c = '?';
  }
  return out;
}

// Length of "class.subject.detail" at the start of `text` (RFC 3463 2: class 2, 4 or 5, subject
// and detail 1-3 digits) when followed by SP or the end; 0 otherwise.
std::size_t enhanced_code_length(std::string_view text) {
  if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') {
    return 0;
  }
  std::size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    std::size_t digits = 0;
    while (i < text.size() && util::is_ascii_digit(text[i]) && digits < 4) {
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3) return 0;
    if (part == 0) {
      if (i >= text.size() || text[i] != '.') return 0;
      ++i;
    }
  }
  if (i < text.size() && text[i] != ' ') return 0;
  return i;
}

}  // namespace

std::string_view reply_error_name(ReplyError error) {
  switch (error) {
    case ReplyError::LineTooLong:
      return "line-too-long";
    case ReplyError::TooManyLines:
      return "too-many-lines";
    case ReplyError::BadCode:
      return "bad-code";
    case ReplyError::BadSeparator:
      return "bad-separator";
    case ReplyError::MixedCodes:
      return "mixed-codes";
  }
  return "unknown";
}

std::string ReplyParseError::message() const {
  std::string what;
  switch (kind) {
    case ReplyError::LineTooLong:
      what = "reply line too long";
      break;
    case ReplyError::TooManyLines:
      what = fmt::format("too many lines in a {} reply", reply_code);
      break;
    case ReplyError::BadCode:
      what = "line does not start with a reply code";
      break;
    case ReplyError::BadSeparator:
      what = "reply code not followed by space or '-'";
      break;
    case ReplyError::MixedCodes:
      what = fmt::format("reply code {} inside a {} reply", excerpt.substr(0, 3), reply_code);
      break;
  }
  return fmt::format("line {}: {}: \"{}\"", line_number, what, excerpt);
}

void split_enhanced_code(Reply& reply) {
  if (reply.lines.empty() || !reply.enhanced.empty()) return;
  std::size_t n = enhanced_code_length(reply.lines.front());
  if (n == 0 || reply.lines.front()[0] - '0' != reply.code / 100) return;
  reply.enhanced = reply.lines.front().substr(0, n);
  for (auto& line : reply.lines) {
    if (line.compare(0, n, reply.enhanced) != 0 || (line.size() > n && line[n] != ' ')) continue;
    line.erase(0, line.size() > n ? n + 1 : n);
  }
}

ReplyParser::ReplyParser(ReplyLimits limits) : limits_(limits) {}

void ReplyParser::feed(std::string_view bytes) {
  while (!bytes.empty() && !error_) {
    std::size_t lf = bytes.find('\n');
    std::string_view piece = bytes.substr(0, lf);
    // max + 1: a line of exactly max octets may hold its CR while the LF is still on the way.
    if (partial_.size() + piece.size() > limits_.max_line_bytes + 1) {
      // Only the first max + 1 octets: that much is known however the line was cut into reads,
      // so the error is the same for every split.
      partial_.append(piece.substr(0, limits_.max_line_bytes + 1 - partial_.size()));
      fail(ReplyError::LineTooLong, partial_);
      return;
    }
    if (lf == std::string_view::npos) {
      partial_.append(piece);
      return;
    }
    bytes.remove_prefix(lf + 1);
    std::string line = std::move(partial_);
    partial_.clear();
    line.append(piece);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    } else {
      ++bare_lf_lines_;
    }
    if (line.size() > limits_.max_line_bytes) {
      fail(ReplyError::LineTooLong, line);
      return;
    }
    take_line(line);
  }
}

void ReplyParser::take_line(std::string_view line) {
  ++lines_read_;
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || !util::is_ascii_digit(line[1]) ||
      !util::is_ascii_digit(line[2])) {
    return fail(ReplyError::BadCode, line);
  }
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  char separator = line.size() > 3 ? line[3] : ' ';
  if (separator != ' ' && separator != '-') return fail(ReplyError::BadSeparator, line);
  if (!raw_.empty() && code != code_) return fail(ReplyError::MixedCodes, line);
  if (raw_.size() >= limits_.max_lines) {
    code_ = code;
    return fail(ReplyError::TooManyLines, line);
  }
  code_ = code;
  raw_.emplace_back(line);
  if (separator == ' ') finish_reply();
}

void ReplyParser::finish_reply() {
  ReceivedReply r;
  r.reply.code = code_;
  for (const auto& raw : raw_) {
    r.reply.lines.push_back(clean_text(raw.size() > 4 ? std::string_view(raw).substr(4) : ""));
  }
  split_enhanced_code(r.reply);
  r.raw_lines = std::move(raw_);
  raw_.clear();
  code_ = 0;
  ready_.push_back(std::move(r));
}

void ReplyParser::fail(ReplyError kind, std::string_view line) {
  error_ = ReplyParseError{kind, kind == ReplyError::LineTooLong ? lines_read_ + 1 : lines_read_,
                           raw_.empty() && kind != ReplyError::TooManyLines ? 0 : code_,
                           excerpt_of(line)};
  partial_.clear();
  raw_.clear();
}

std::optional<ReceivedReply> ReplyParser::next() {
  if (ready_.empty()) return std::nullopt;
  ReceivedReply r = std::move(ready_.front());
  ready_.pop_front();
  return r;
}

void ReplyParser::clear() {
  partial_.clear();
  raw_.clear();
  code_ = 0;
  ready_.clear();
}

}  // namespace mailroom::smtp
