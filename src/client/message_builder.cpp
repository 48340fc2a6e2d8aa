#include "client/message_builder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "smtp/auth.hpp"
#include "util/ascii.hpp"

namespace mailroom::client {
namespace {

constexpr std::size_t kMaxHeaderLine = 78;  // RFC 5322 2.1.1 "SHOULD"
constexpr std::size_t kMaxTextLine = 998;   // RFC 5322 2.1.1 "MUST"
constexpr std::size_t kWordPayload = 45;    // 45 octets -> 60 base64 chars -> 72-octet word
constexpr std::string_view kDefaultBody = "This is a test mailing";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_address_field(std::string_view name) {
  for (std::string_view f : {"From", "To", "Cc", "Bcc", "Reply-To", "Sender"})
    if (util::iequals(name, f)) return true;
  return false;
}

// Length of the UTF-8 sequence that starts with `lead` (1 for stray continuation octets).
std::size_t utf8_length(unsigned char lead) {
  if (lead >= 0xF0 && lead < 0xF8) return 4;
  if (lead >= 0xE0) return lead < 0xF0 ? 3 : 1;
  if (lead >= 0xC0) return 2;
  return 1;
}

// `first_line_used`: octets already on the first word's line ("Subject: "), so that line too stays
// within kMaxHeaderLine; the words after it start folded lines of their own.
std::string encoded_words(std::string_view text, std::size_t first_line_used = 0) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    // "=?UTF-8?B?" + base64 + "?=": 12 octets and 4 per 3 of payload.
    const std::size_t room = out.empty() && first_line_used + 12 + 4 < kMaxHeaderLine
                                 ? kMaxHeaderLine - first_line_used - 12
                                 : kMaxHeaderLine;
    const std::size_t payload = std::max<std::size_t>(3, std::min(kWordPayload, room / 4 * 3));
    std::size_t end = i;
    while (end < text.size()) {
      std::size_t n = utf8_length(static_cast<unsigned char>(text[end]));
      if (end + n - i > payload) break;
      end += std::min(n, text.size() - end);
    }
    if (end == i) end = std::min(text.size(), i + payload);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + smtp::base64_encode(text.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

// Folds an ASCII field body at spaces so lines stay near 78 octets; a word too long to fold
// stays whole (it is under 998: longer values are encoded words).
std::string fold(std::string_view name, std::string_view value) {
  std::string out;
  std::size_t line = name.size() + 2;
  std::size_t start = 0;
  while (start < value.size()) {
    std::size_t space = value.find(' ', start + 1);
    if (space == std::string_view::npos) space = value.size();
    std::string_view word = value.substr(start, space - start);  // holds its leading space
    if (line + word.size() > kMaxHeaderLine && start > 0 && word.front() == ' ') {
      out += "\r\n";
      line = 0;
    }
    out += word;
    line += word.size();
    start = space;
  }
  return out;
}

bool has_long_word(std::string_view value) {
  std::size_t run = 0;
  for (char c : value) {
    run = c == ' ' ? 0 : run + 1;
    if (run > kMaxTextLine - 100) return true;
  }
  return false;
}

// One address of an address field: the display name encoded, the address kept.
std::string encode_mailbox(std::string_view mailbox, bool& utf8) {
  std::string_view trimmed = trim(mailbox);
  auto open = trimmed.rfind('<');
  std::string_view phrase = open == std::string_view::npos ? "" : trimmed.substr(0, open);
  std::string_view address = open == std::string_view::npos ? trimmed : trimmed.substr(open);
  if (!is_ascii(address)) utf8 = true;  // RFC 6532: the address itself stays UTF-8
  phrase = trim(phrase);
  if (phrase.empty()) return std::string(address);
  if (is_ascii(phrase)) return fmt::format("{} {}", phrase, address);
  if (phrase.size() >= 2 && phrase.front() == '"' && phrase.back() == '"')
    phrase = phrase.substr(1, phrase.size() - 2);
  return fmt::format("{} {}", encode_words(phrase), address);
}

// An address list split at commas outside quotes and angle brackets.
std::vector<std::string_view> split_addresses(std::string_view list) {
  std::vector<std::string_view> out;
  bool quoted = false;
  int angle = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    char c = list[i];
    if (c == '"' && (i == 0 || list[i - 1] != '\\')) quoted = !quoted;
    if (!quoted && c == '<') ++angle;
    if (!quoted && c == '>' && angle > 0) --angle;
    if (!quoted && angle == 0 && c == ',') {
      out.push_back(list.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(list.substr(start));
  return out;
}

// The field as it goes on the wire, without its CRLF.
std::string field_line(std::string_view name, std::string_view value, bool& utf8) {
  if (is_address_field(name) && !is_ascii(value)) {
    std::string body;
    bool raw_utf8 = false;
    for (auto mailbox : split_addresses(value)) {
      if (!body.empty()) body += ", ";
      body += encode_mailbox(mailbox, raw_utf8);
    }
    utf8 = utf8 || raw_utf8;
    // Encoded words are folded already; a raw UTF-8 address (RFC 6532) is kept as written.
    return fmt::format("{}: {}", name, body);
  }
  if (!is_ascii(value) || has_long_word(value)) {
    return fmt::format("{}: {}", name, encoded_words(value, name.size() + 2));
  }
  return fmt::format("{}: {}", name, fold(name, value));
}

bool needs_encoding(std::string_view text) {
  if (!is_ascii(text)) return true;
  std::size_t run = 0;
  for (char c : text) {
    run = c == '\n' ? 0 : run + 1;
    if (run > kMaxTextLine) return true;
  }
  return false;
}

std::string quote_parameter(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// RFC 2231 name*=utf-8''percent-encoded for a non-ASCII file name.
std::string file_parameter(std::string_view parameter, std::string_view name) {
  if (is_ascii(name)) return fmt::format("{}={}", parameter, quote_parameter(name));
  std::string out = fmt::format("{}*=utf-8''", parameter);
  for (unsigned char c : name) {
    if (util::is_ascii_alnum(static_cast<char>(c)) || c == '.' || c == '-' || c == '_') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// The body as a text part: content headers (empty for plain 7-bit text) and its octets.
std::pair<std::string, std::string> text_part(std::string_view text) {
  std::string crlf = to_crlf(text);
  if (!crlf.empty() && (crlf.size() < 2 || crlf.substr(crlf.size() - 2) != "\r\n")) crlf += "\r\n";
  if (!needs_encoding(text)) return {"", crlf};
  return {
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
      "quoted-printable\r\n",
      quoted_printable(crlf)};
}

}  // namespace

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string encode_words(std::string_view text) {
  if (is_ascii(text)) return std::string(text);
  return encoded_words(text);
}

std::string quoted_printable(std::string_view text) {
  std::string out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t nl = text.find("\r\n", start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    std::size_t col = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      const bool last = i + 1 == line.size();
      std::string piece;
      if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
        piece = std::string(1, static_cast<char>(c));
      } else {
        piece = fmt::format("={:02X}", c);
      }
      // Room for a soft break "=" within 76 columns (RFC 2045 6.7 rule 5).
      if (col + piece.size() > 75) {
        out += "=\r\n";
        col = 0;
      }
      out += piece;
      col += piece.size();
    }
    if (nl == std::string_view::npos) break;
    out += "\r\n";
    start = nl + 2;
  }
  return out;
}

std::string base64_lines(std::string_view bytes) {
  std::string encoded = smtp::base64_encode(bytes);
  std::string out;
  out.reserve(encoded.size() + encoded.size() / 38 + 2);
  for (std::size_t i = 0; i < encoded.size(); i += 76) out += encoded.substr(i, 76) + "\r\n";
  return out;
}

std::string to_crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string guess_content_type(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 16> kTypes{{
      {".txt", "text/plain"},
      {".html", "text/html"},
      {".htm", "text/html"},
      {".csv", "text/csv"},
      {".pdf", "application/pdf"},
      {".zip", "application/zip"},
      {".gz", "application/gzip"},
      {".json", "application/json"},
      {".xml", "application/xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".eml", "message/rfc822"},
      {".ics", "text/calendar"},
      {".doc", "application/msword"},
  }};
  auto dot = file_name.rfind('.');
  if (dot != std::string_view::npos) {
    std::string ext = util::to_ascii_lower(file_name.substr(dot));
    for (const auto& [e, type] : kTypes)
      if (ext == e) return std::string(type);
  }
  return "application/octet-stream";
}

std::optional<std::pair<std::string, std::string>> parse_header_field(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view name = text.substr(0, colon);
  for (unsigned char c : name)
    if (c < 33 || c > 126) return std::nullopt;
  std::string_view value = trim(text.substr(colon + 1));
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
    return std::nullopt;
  return std::make_pair(std::string(name), std::string(value));
}

BuiltMessage build_message(const MessageSpec& spec) {
  std::string to;
  for (const auto& t : spec.to) to += (to.empty() ? "" : ", ") + t;
  std::vector<std::pair<std::string, std::string>> fields = {
      {"Date", spec.date},
      {"To", to},
      {"From", spec.from},
      {"Subject", spec.subject.value_or("test " + spec.date)},
      {"Message-Id", "<" + spec.message_id + ">"},
      {"X-Mailer", spec.mailer},
  };
  for (const auto& [name, value] : spec.headers) {
    auto same = std::find_if(fields.begin(), fields.end(),
                             [&](const auto& f) { return util::iequals(f.first, name); });
    if (same != fields.end()) {
      same->second = value;
    } else {
      fields.emplace_back(name, value);
    }
  }

  BuiltMessage built;
  std::string out;
  for (const auto& [name, value] : fields)
    out += field_line(name, value, built.utf8_headers) + "\r\n";

  auto [content_headers, body] = text_part(spec.body.value_or(std::string(kDefaultBody)));
  if (spec.attachments.empty()) {
    if (!content_headers.empty()) out += "MIME-Version: 1.0\r\n" + content_headers;
    out += "\r\n" + body;
  } else {
    out += "MIME-Version: 1.0\r\n";
    out += fmt::format("Content-Type: multipart/mixed; boundary=\"{}\"\r\n\r\n", spec.boundary);
    out += "This is a multi-part message in MIME format.\r\n";
    out += fmt::format("\r\n--{}\r\n", spec.boundary);
    out += content_headers.empty() ? "Content-Type: text/plain; charset=us-ascii\r\n"
                                   : content_headers;
    out += "\r\n" + body;
    for (const auto& a : spec.attachments) {
      std::string type = a.content_type.empty() ? guess_content_type(a.name) : a.content_type;
      out += fmt::format("\r\n--{}\r\n", spec.boundary);
      if (a.name.empty()) {
        out += fmt::format("Content-Type: {}\r\nContent-Disposition: attachment\r\n", type);
      } else {
        out += fmt::format("Content-Type: {}; {}\r\nContent-Disposition: attachment; {}\r\n", type,
                           file_parameter("name", a.name), file_parameter("filename", a.name));
      }
      out += "Content-Transfer-Encoding: base64\r\n\r\n";
      out += base64_lines(a.bytes);
    }
    out += fmt::format("\r\n--{}--\r\n", spec.boundary);
  }
  built.eight_bit = !is_ascii(out);
  built.bytes = std::move(out);
  return built;
}

BuiltMessage raw_message(std::string_view text) {
  BuiltMessage built;
  std::string crlf = to_crlf(text);
  if (!crlf.empty() && crlf.substr(crlf.size() >= 2 ? crlf.size() - 2 : 0) != "\r\n")
    crlf += "\r\n";
  if (crlf == ".\r\n") crlf.clear();
  if (crlf.size() >= 5 && crlf.substr(crlf.size() - 5) == "\r\n.\r\n") crlf.resize(crlf.size() - 3);
  built.eight_bit = !is_ascii(crlf);
  // Header fields with raw UTF-8 (RFC 6532) need SMTPUTF8; a body with 8-bit text only 8BITMIME.
  auto end = crlf.find("\r\n\r\n");
  built.utf8_headers = !is_ascii(std::string_view(crlf).substr(0, end));
  built.bytes = std::move(crlf);
  return built;
}

}  // namespace mailroom::client
