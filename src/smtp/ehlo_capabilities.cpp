#include "smtp/ehlo_capabilities.hpp"

#include <algorithm>

#include "smtp/bdat.hpp"
#include "util/ascii.hpp"

namespace mailroom::smtp {

namespace {

constexpr std::size_t kMaxMechanismBytes = 20;  // RFC 4422 3.1

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_blank(s[i])) ++i;
    std::size_t start = i;
    while (i < s.size() && !is_blank(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// RFC 4422 3.1: 1-20 of [A-Z0-9-_], compared case-insensitively.
bool is_mechanism(std::string_view m) {
  if (m.empty() || m.size() > kMaxMechanismBytes) return false;
  return std::all_of(m.begin(), m.end(),
                     [](char c) { return util::is_ascii_alnum(c) || c == '-' || c == '_'; });
}

void add_mechanisms(EhloCapabilities& caps, const std::vector<std::string_view>& mechs) {
  caps.auth = true;
  for (auto m : mechs) {
    if (!is_mechanism(m)) continue;
    std::string upper = util::to_ascii_upper(m);
    if (!caps.offers_auth(upper)) caps.auth_mechanisms.push_back(std::move(upper));
  }
}

// Applies one extension line; false if the line is not a known keyword with valid parameters.
bool apply(EhloCapabilities& caps, std::string_view line) {
  auto w = words(line);
  if (w.empty()) return false;
  std::string_view keyword = w.front();
  std::vector<std::string_view> params(w.begin() + 1, w.end());
  auto flag = [&](bool& field) {
    field = true;
    return true;
  };
  if (util::iequals(keyword, "SIZE")) {
    if (params.size() > 1) return false;
    if (params.empty()) {
      caps.size = 0;
      return true;
    }
    auto n = parse_decimal_u64(params.front());
    if (!n) return false;
    caps.size = *n;
    return true;
  }
  if (util::iequals(keyword, "AUTH")) {
    add_mechanisms(caps, params);
    return true;
  }
  if (util::istarts_with(keyword, "AUTH=")) {
    params.insert(params.begin(), keyword.substr(5));
    add_mechanisms(caps, params);
    return true;
  }
  if (util::iequals(keyword, "PIPELINING")) return flag(caps.pipelining);
  if (util::iequals(keyword, "DSN")) return flag(caps.dsn);
  if (util::iequals(keyword, "ENHANCEDSTATUSCODES")) return flag(caps.enhanced_status_codes);
  if (util::iequals(keyword, "STARTTLS")) return flag(caps.starttls);
  if (util::iequals(keyword, "8BITMIME")) return flag(caps.eight_bit_mime);
  if (util::iequals(keyword, "BINARYMIME")) return flag(caps.binary_mime);
  if (util::iequals(keyword, "CHUNKING")) return flag(caps.chunking);
  if (util::iequals(keyword, "SMTPUTF8")) return flag(caps.smtputf8);
  return false;
}

}  // namespace

bool EhloCapabilities::offers_auth(std::string_view mechanism) const {
  return std::any_of(auth_mechanisms.begin(), auth_mechanisms.end(),
                     [&](const std::string& m) { return util::iequals(m, mechanism); });
}

EhloCapabilities parse_ehlo_reply(const Reply& reply) {
  EhloCapabilities caps;
  if (reply.code / 100 != 2 || reply.lines.empty()) return caps;
  std::string_view first = reply.lines.front();
  while (!first.empty() && is_blank(first.front())) first.remove_prefix(1);
  std::size_t end = 0;
  while (end < first.size() && !is_blank(first[end])) ++end;
  caps.greeting_domain = std::string(first.substr(0, end));
  first.remove_prefix(end);
  while (!first.empty() && is_blank(first.front())) first.remove_prefix(1);
  caps.greeting_text = std::string(first);
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    if (!apply(caps, reply.lines[i])) caps.unknown.push_back(reply.lines[i]);
  }
  return caps;
}

}  // namespace mailroom::smtp
