// Fuzzes mailbox and domain syntax: no crash, limits respected, canonical form round-trips.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/address.hpp"
#include "smtp/mail_args.hpp"

using namespace mailroom::smtp;

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}

bool has_non_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  ParsedAddress parsed = parse_mailbox(input);
  if (parsed.ok()) {
    const Address& a = parsed.address;
    check(!a.domain.empty());
    check(a.domain.size() <= kMaxDomainBytes);
    check(a.utf8 == (has_non_ascii(a.local_part) || has_non_ascii(a.domain)));
    check(a.domain.front() == '[' ? is_address_literal(a.domain) : is_valid_domain(a.domain, true));
    ParsedAddress again = parse_mailbox(a.str());
    check(again.ok());
    check(again.address.local_part == a.local_part);
    check(again.address.domain == a.domain);
    check(again.address.str() == a.str());
  }

  bool ascii_domain = is_valid_domain(input, false);
  bool utf8_domain = is_valid_domain(input, true);
  check(!ascii_domain || utf8_domain);
  if (utf8_domain) {
    std::string normal = normalize_domain(input);
    check(is_valid_domain(normal, true));
    check(normalize_domain(normal) == normal);
  }
  if (is_address_literal(input)) check(is_valid_helo_argument(input));
  (void)is_dot_string(input);

  auto decoded = xtext_decode(input);
  std::string encoded = xtext_encode(input);
  check(xtext_decode(encoded) == std::string(input));
  if (decoded) check(xtext_encode(*decoded).size() <= 3 * decoded->size());
  return 0;
}
