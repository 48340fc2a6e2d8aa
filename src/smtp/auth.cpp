#include "smtp/auth.hpp"

#include <sodium.h>

#include "util/ascii.hpp"

namespace mailroom::smtp {

namespace {

constexpr std::size_t kMaxMechanismBytes = 20;    // RFC 4422 3.1
constexpr std::size_t kMaxPlainFieldBytes = 255;  // RFC 4616 2

bool is_mech_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

ParseResult<AuthArgs> parse_auth_args(std::string_view args) {
  auto fail = [] { return ParseResult<AuthArgs>::failure(replies::invalid_arguments()); };
  std::size_t sp = args.find(' ');
  std::string_view mech = args.substr(0, sp);
  if (mech.empty() || mech.size() > kMaxMechanismBytes) return fail();
  AuthArgs result;
  for (char c : mech) {
    char u = util::ascii_upper(c);
    if (!is_mech_char(u)) return fail();
    result.mechanism.push_back(u);
  }
  if (sp != std::string_view::npos) {
    std::string_view response = args.substr(sp + 1);
    while (!response.empty() && response.front() == ' ') response.remove_prefix(1);
    while (!response.empty() && response.back() == ' ') response.remove_suffix(1);
    if (response.empty() || response.find(' ') != std::string_view::npos) return fail();
    result.initial_response = response == "=" ? std::string() : std::string(response);
  }
  return ParseResult<AuthArgs>::success(std::move(result));
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.empty()) return std::string();
  // libsodium 1.0.18 (Debian 12) maps octets >= 0x80 to 6-bit values instead of refusing them
  // ("\xff\xdf\x6b\xc3" decodes to 3 bytes), so the alphabet is checked here first.
  for (char c : text) {
    bool in_alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '+' || c == '/' || c == '=';
    if (!in_alphabet) return std::nullopt;
  }
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t out_len = 0;
  const char* end = nullptr;
  int rc = sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                             text.size(), nullptr, &out_len, &end, sodium_base64_VARIANT_ORIGINAL);
  // sodium stops at the first invalid character and reports where; all of it must be base64.
  if (rc != 0 || end != text.data() + text.size()) return std::nullopt;
  out.resize(out_len);
  return out;
}

std::string base64_encode(std::string_view raw) {
  std::size_t encoded_len = sodium_base64_encoded_len(raw.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(encoded_len, '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(encoded_len - 1);  // encoded_len counts the terminating NUL
  return out;
}

std::optional<PlainCredentials> parse_auth_plain(std::string_view decoded) {
  std::size_t first = decoded.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  std::size_t second = decoded.find('\0', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (decoded.find('\0', second + 1) != std::string_view::npos) return std::nullopt;
  PlainCredentials c;
  c.authzid = std::string(decoded.substr(0, first));
  c.authcid = std::string(decoded.substr(first + 1, second - first - 1));
  c.password = std::string(decoded.substr(second + 1));
  if (c.authcid.empty() || c.password.empty()) return std::nullopt;
  if (c.authzid.size() > kMaxPlainFieldBytes || c.authcid.size() > kMaxPlainFieldBytes ||
      c.password.size() > kMaxPlainFieldBytes) {
    return std::nullopt;
  }
  return c;
}

}  // namespace mailroom::smtp
