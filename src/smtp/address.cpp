#include "smtp/address.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <optional>

#include "smtp/utf8.hpp"
#include "util/ascii.hpp"

namespace mailroom::smtp {

namespace {

// RFC 5322 3.2.3 atext, as used by RFC 5321 Atom.
bool is_atext(char c) {
  if (util::is_ascii_alnum(c)) return true;
  return std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr && c != '\0';
}

// RFC 5321 qtextSMTP: %d32-33 / %d35-91 / %d93-126.
bool is_qtext(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 32 && u <= 126 && c != '"' && c != '\\';
}

bool is_high(char c) { return static_cast<unsigned char>(c) >= 0x80; }

// `underscore`: '_' counts as a letter, as in the host names HELO/EHLO accept.
bool is_valid_label(std::string_view label, bool allow_utf8, bool underscore = false) {
  if (label.empty()) return false;
  // Let-dig [Ldh-str]: starts and ends with a letter or digit (a UTF-8 octet counts as a letter
  // in a U-label, RFC 6531 3.3 / RFC 5890).
  auto edge_ok = [underscore](char c) {
    return util::is_ascii_alnum(c) || is_high(c) || (underscore && c == '_');
  };
  if (!edge_ok(label.front()) || !edge_ok(label.back())) return false;
  bool has_utf8 = false;
  for (std::size_t i = 0; i < label.size();) {
    char c = label[i];
    if (util::is_ascii_alnum(c) || c == '-' || (underscore && c == '_')) {
      ++i;
      continue;
    }
    if (!allow_utf8) return false;
    std::size_t n = utf8_sequence_length(label, i);
    if (n == 0) return false;
    has_utf8 = true;
    i += n;
  }
  // 63 octets is the DNS limit for an ASCII label; a U-label's limit applies to its A-label form,
  // which the total-length check bounds well enough for syntax purposes.
  return has_utf8 || label.size() <= 63;
}

// The canonical text of an address literal, or nullopt if `d` is not one.
std::optional<std::string> canonical_address_literal(std::string_view d) {
  if (d.size() < 3 || d.front() != '[' || d.back() != ']') return std::nullopt;
  std::string_view inner = d.substr(1, d.size() - 2);
  constexpr std::string_view kV6Tag = "IPv6:";
  bool v6 = util::istarts_with(inner, kV6Tag);
  if (v6) inner.remove_prefix(kV6Tag.size());
  if (inner.empty() || inner.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  // inet_pton stops at a NUL, so "[192.0.2.1\0junk]" would pass: allow only address characters.
  for (char c : inner) {
    bool hex = util::is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!(util::is_ascii_digit(c) || c == '.' || (v6 && (hex || c == ':')))) return std::nullopt;
  }
  std::string text(inner);  // inet_pton needs a NUL-terminated string
  if (v6) {
    in6_addr a6{};
    if (inet_pton(AF_INET6, text.c_str(), &a6) != 1) return std::nullopt;
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, &a6, buf, sizeof buf) == nullptr) return std::nullopt;
    return "[IPv6:" + std::string(buf) + "]";
  }
  in_addr a4{};
  if (inet_pton(AF_INET, text.c_str(), &a4) != 1) return std::nullopt;
  return "[" + text + "]";
}

std::string quote_local_part(std::string_view local) {
  std::string out;
  out.reserve(local.size() + 2);
  out.push_back('"');
  for (char c : local) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

ParsedAddress failure(AddressError e) {
  ParsedAddress r;
  r.error = e;
  return r;
}

// Quoted-string (RFC 5321 4.1.2, RFC 6531 3.3). On success returns the octets consumed including
// both quotes and stores the unescaped content; returns 0 on a syntax error.
std::size_t parse_quoted_local(std::string_view s, std::string& content, bool& utf8) {
  if (s.empty() || s.front() != '"') return 0;
  for (std::size_t i = 1; i < s.size();) {
    char c = s[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (i + 1 >= s.size()) return 0;
      auto next = static_cast<unsigned char>(s[i + 1]);
      if (next < 32 || next > 126) return 0;  // quoted-pairSMTP = %d92 %d32-126
      content.push_back(s[i + 1]);
      i += 2;
    } else if (is_qtext(c)) {
      content.push_back(c);
      ++i;
    } else {
      std::size_t n = utf8_sequence_length(s, i);
      if (n == 0) return 0;
      content.append(s.substr(i, n));
      utf8 = true;
      i += n;
    }
  }
  return 0;  // no closing quote
}

}  // namespace

std::string Address::str() const {
  if (is_null) return "";
  std::string local = is_dot_string(local_part) ? local_part : quote_local_part(local_part);
  if (domain.empty()) return local;
  return local + "@" + domain;
}

bool is_dot_string(std::string_view local) {
  if (local.empty() || local.front() == '.' || local.back() == '.') return false;
  for (std::size_t i = 0; i < local.size();) {
    char c = local[i];
    if (c == '.') {
      if (local[i + 1] == '.') return false;  // safe: the last octet is not '.'
      ++i;
    } else if (is_atext(c)) {
      ++i;
    } else {
      std::size_t n = utf8_sequence_length(local, i);
      if (n == 0) return false;
      i += n;
    }
  }
  return true;
}

ParsedAddress parse_mailbox(std::string_view mailbox) {
  ParsedAddress result;
  Address& addr = result.address;
  std::size_t local_end = 0;  // index of the '@' that ends the local part
  if (!mailbox.empty() && mailbox.front() == '"') {
    std::size_t consumed = parse_quoted_local(mailbox, addr.local_part, addr.utf8);
    if (consumed == 0) return failure(AddressError::Syntax);
    addr.quoted = true;
    local_end = consumed;
  } else {
    local_end = mailbox.find('@');
    if (local_end == std::string_view::npos) return failure(AddressError::Syntax);
    std::string_view local = mailbox.substr(0, local_end);
    if (!is_dot_string(local)) return failure(AddressError::Syntax);
    addr.local_part = std::string(local);
    addr.utf8 = !is_ascii(local);
  }
  if (local_end >= mailbox.size() || mailbox[local_end] != '@')
    return failure(AddressError::Syntax);
  if (local_end > kMaxLocalPartBytes) return failure(AddressError::TooLong);

  std::string_view domain = mailbox.substr(local_end + 1);
  if (domain.empty()) return failure(AddressError::Syntax);
  if (domain.front() == '[') {
    auto literal = canonical_address_literal(domain);
    if (!literal) return failure(AddressError::Syntax);
    addr.domain = std::move(*literal);
    return result;
  }
  std::size_t domain_len = domain.size() - (domain.back() == '.' ? 1 : 0);
  if (domain_len > kMaxDomainBytes) return failure(AddressError::TooLong);
  if (!is_valid_domain(domain, true)) return failure(AddressError::Syntax);
  addr.domain = normalize_domain(domain);
  if (!is_ascii(addr.domain)) addr.utf8 = true;
  return result;
}

namespace {

bool is_valid_name(std::string_view d, bool allow_utf8, bool underscore) {
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  if (d.empty() || d.size() > kMaxDomainBytes) return false;
  while (true) {
    std::size_t dot = d.find('.');
    if (!is_valid_label(d.substr(0, dot), allow_utf8, underscore)) return false;
    if (dot == std::string_view::npos) return true;
    d.remove_prefix(dot + 1);
  }
}

}  // namespace

bool is_valid_domain(std::string_view d, bool allow_utf8) {
  return is_valid_name(d, allow_utf8, false);
}

bool is_address_literal(std::string_view d) { return canonical_address_literal(d).has_value(); }

bool is_valid_helo_argument(std::string_view arg) {
  if (!arg.empty() && arg.front() == '[') return is_address_literal(arg);
  // Windows and other real hosts have '_' in their names; Postfix's valid_hostname() accepts it
  // and so do we. Addresses keep the strict LDH rule (is_valid_domain).
  return is_valid_name(arg, true, true);
}

std::string normalize_domain(std::string_view d) {
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  std::string out(d);
  for (char& c : out) c = util::ascii_lower(c);
  return out;
}

}  // namespace mailroom::smtp
