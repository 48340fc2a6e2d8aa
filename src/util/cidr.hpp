// util/cidr: IPv4/IPv6 address ranges ("192.0.2.0/24", "::1/128", "10.1.2.3") for listener
// remote_ranges and relay_ranges. IPv4-mapped IPv6 clients (::ffff:a.b.c.d) match IPv4 ranges,
// so a dual-stack socket cannot be used to slip past an IPv4 rule.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::util {

class Cidr {
 public:
  static std::optional<Cidr> parse(std::string_view text);
  // `address` is a textual IP address (as from asio's address::to_string()).
  bool contains(std::string_view address) const;
  std::string to_string() const;
  // The range with the address's bits past the prefix cleared ("192.168.1.1/24" ->
  // "192.168.1.0/24"), and whether any were set.
  Cidr network() const;
  bool has_host_bits() const;
  // The single address as a host range ("192.168.1.1/32").
  Cidr host() const;

 private:
  bool v6_ = false;
  std::array<std::uint8_t, 16> bytes_{};
  unsigned prefix_ = 0;
};

bool any_contains(const std::vector<Cidr>& ranges, std::string_view address);
std::vector<Cidr> parse_ranges(const std::vector<std::string>& texts);  // skips invalid ones

}  // namespace mailroom::util
