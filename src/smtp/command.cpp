#include "smtp/command.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "util/ascii.hpp"

namespace mailroom::smtp {

namespace {

constexpr std::array<std::pair<std::string_view, Verb>, 14> kVerbs{{
    {"HELO", Verb::Helo},
    {"EHLO", Verb::Ehlo},
    {"MAIL", Verb::Mail},
    {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data},
    {"BDAT", Verb::Bdat},
    {"RSET", Verb::Rset},
    {"NOOP", Verb::Noop},
    {"QUIT", Verb::Quit},
    {"VRFY", Verb::Vrfy},
    {"EXPN", Verb::Expn},
    {"HELP", Verb::Help},
    {"AUTH", Verb::Auth},
    {"STARTTLS", Verb::StartTls},
}};

// The longest verb is 8 octets; anything longer is unknown and need not be copied whole.
constexpr std::size_t kMaxVerbTextBytes = 32;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

Command parse_command(std::string_view line) {
  // Trailing blanks are common from hand-typed sessions (the seeds use telnet); RFC 5321 4.1.1
  // does not allow them but refusing them helps no one.
  line = trim_blanks(line);
  std::size_t end = 0;
  while (end < line.size() && !is_blank(line[end])) ++end;
  std::string_view verb = line.substr(0, end);

  Command cmd;
  cmd.verb_text.reserve(std::min(verb.size(), kMaxVerbTextBytes));
  for (std::size_t i = 0; i < verb.size() && i < kMaxVerbTextBytes; ++i) {
    cmd.verb_text.push_back(util::ascii_upper(verb[i]));
  }
  if (verb.size() <= kMaxVerbTextBytes) {
    for (const auto& [name, v] : kVerbs) {
      if (cmd.verb_text == name) {
        cmd.verb = v;
        break;
      }
    }
  }
  cmd.args = std::string(trim_blanks(line.substr(end)));
  return cmd;
}

bool contains_forbidden_bytes(std::string_view line) {
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t') return true;
  }
  return false;
}

std::string_view verb_name(Verb verb) {
  for (const auto& [name, v] : kVerbs) {
    if (v == verb) return name;
  }
  return "UNKNOWN";
}

}  // namespace mailroom::smtp
