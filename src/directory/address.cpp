// Address syntax and canonical forms; see address.hpp for the contract.
#include "directory/address.hpp"

#include <cstring>

namespace mailroom::directory {
namespace {

constexpr std::size_t kMaxLocalPartOctets = 64;  // RFC 5321 4.5.3.1.1
constexpr std::size_t kMaxDomainOctets = 255;    // RFC 5321 4.5.3.1.2
constexpr std::size_t kMaxLabelOctets = 63;      // RFC 1035 2.3.4

bool is_atext(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x80) return false;
  return std::isalnum(u) || std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

// RFC 5322 3.2.3 dot-atom-text: atext runs separated by single dots, no dot at either end.
bool is_dot_atom(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  char prev = '\0';
  for (char c : text) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!is_atext(c)) {
      return false;
    }
    prev = c;
  }
  return true;
}

bool has_relay_character(std::string_view local) {
  return local.find_first_of("@%!/") != std::string_view::npos;
}

// RFC 5321 4.1.2 quoted-string: DQUOTE *(qtextSMTP / "\" any-printable) DQUOTE. Returns the
// content with escapes removed, or nullopt when the quoting is malformed.
std::optional<std::string> unquote(std::string_view quoted) {
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') return std::nullopt;
  std::string out;
  for (std::size_t i = 1; i + 1 < quoted.size(); ++i) {
    char c = quoted[i];
    if (c == '\\') {
      if (i + 2 >= quoted.size()) return std::nullopt;  // a backslash escaping the closing quote
      c = quoted[++i];
    } else if (c == '"') {
      return std::nullopt;
    }
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return std::nullopt;
    out += c;
  }
  return out;
}

std::optional<AddressParts> split_address(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  auto domain = canonical_domain(address.substr(at + 1));
  if (!domain) return std::nullopt;
  return AddressParts{std::string(address.substr(0, at)), *domain};
}

}  // namespace

std::string to_lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<std::string> canonical_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty() || domain.size() > kMaxDomainOctets) return std::nullopt;
  std::size_t label_start = 0;
  for (std::size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      auto label = domain.substr(label_start, i - label_start);
      if (label.empty() || label.size() > kMaxLabelOctets) return std::nullopt;
      if (label.front() == '-' || label.back() == '-') return std::nullopt;
      label_start = i + 1;
      continue;
    }
    auto u = static_cast<unsigned char>(domain[i]);
    if (u >= 0x80 || !(std::isalnum(u) || domain[i] == '-')) return std::nullopt;
  }
  return to_lower_ascii(domain);
}

bool is_storable_local_part(std::string_view local) {
  return local.size() <= kMaxLocalPartOctets && is_dot_atom(local) && !has_relay_character(local);
}

std::optional<AddressParts> parse_mailbox_address(std::string_view address) {
  auto parts = split_address(address);
  if (!parts || !is_storable_local_part(parts->local)) return std::nullopt;
  parts->local = to_lower_ascii(parts->local);
  return parts;
}

std::optional<AddressParts> parse_alias_source(std::string_view source) {
  if (!source.empty() && source.front() == '@') {
    auto domain = canonical_domain(source.substr(1));
    if (!domain) return std::nullopt;
    return AddressParts{"", *domain};
  }
  return parse_mailbox_address(source);
}

std::optional<AddressParts> parse_alias_target(std::string_view target) {
  auto parts = split_address(target);
  if (!parts || parts->local.size() > kMaxLocalPartOctets || !is_dot_atom(parts->local))
    return std::nullopt;
  return parts;
}

LookupAddress parse_lookup_address(std::string_view address) {
  LookupAddress out;
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return out;
  auto domain = canonical_domain(address.substr(at + 1));
  if (!domain) return out;
  out.domain_ok = true;
  out.parts.domain = *domain;
  std::string_view local = address.substr(0, at);
  std::optional<std::string> unquoted;
  if (!local.empty() && local.front() == '"') {
    unquoted = unquote(local);
    if (!unquoted) return out;
    local = *unquoted;
  }
  out.parts.local = to_lower_ascii(local);
  out.local_ok = is_storable_local_part(local);
  return out;
}

}  // namespace mailroom::directory
