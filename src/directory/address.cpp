// Address syntax and canonical forms; see address.hpp for the contract.
#include "directory/address.hpp"

#include "smtp/address.hpp"
#include "smtp/utf8.hpp"
#include "util/ascii.hpp"

namespace mailroom::directory {
namespace {

// The directory stores ASCII names only (RFC 5321 grammar from smtp/address.hpp, without the
// RFC 6531 UTF-8 extensions): they become Maildir paths and login names.
bool is_dot_atom(std::string_view text) {
  return smtp::is_ascii(text) && smtp::is_dot_string(text);
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

std::optional<std::string> canonical_domain(std::string_view domain) {
  if (!smtp::is_valid_domain(domain, false)) return std::nullopt;
  return smtp::normalize_domain(domain);
}

bool is_storable_local_part(std::string_view local) {
  return local.size() <= smtp::kMaxLocalPartBytes && is_dot_atom(local) &&
         !has_relay_character(local);
}

std::optional<AddressParts> parse_mailbox_address(std::string_view address) {
  auto parts = split_address(address);
  if (!parts || !is_storable_local_part(parts->local)) return std::nullopt;
  parts->local = util::to_ascii_lower(parts->local);
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
  if (!parts || parts->local.size() > smtp::kMaxLocalPartBytes || !is_dot_atom(parts->local))
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
  out.parts.local = util::to_ascii_lower(local);
  out.local_ok = is_storable_local_part(local);
  return out;
}

}  // namespace mailroom::directory
