#include "util/cidr.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace mailroom::util {
namespace {

// Parses an address into 16 bytes; IPv4 and IPv4-mapped IPv6 both become v4 (4 bytes used).
bool parse_address(std::string_view text, bool& v6, std::array<std::uint8_t, 16>& out) {
  std::string s(text);
  out.fill(0);
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    v6 = false;
    std::memcpy(out.data(), &a4, 4);
    return true;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a6.s6_addr, mapped, 12) == 0) {
      v6 = false;
      std::memcpy(out.data(), a6.s6_addr + 12, 4);
    } else {
      v6 = true;
      std::memcpy(out.data(), a6.s6_addr, 16);
    }
    return true;
  }
  return false;
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  Cidr c;
  auto slash = text.find('/');
  auto addr = text.substr(0, slash);
  if (!parse_address(addr, c.v6_, c.bytes_)) return std::nullopt;
  unsigned max = c.v6_ ? 128 : 32;
  if (slash == std::string_view::npos) {
    c.prefix_ = max;
    return c;
  }
  auto bits = text.substr(slash + 1);
  if (bits.empty() || bits.size() > 3) return std::nullopt;
  unsigned n = 0;
  for (char ch : bits) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + static_cast<unsigned>(ch - '0');
  }
  // An IPv4-mapped range written in IPv6 notation counts its prefix over 128 bits.
  if (!c.v6_ && addr.find(':') != std::string_view::npos) {
    if (n < 96) return std::nullopt;
    n -= 96;
  }
  if (n > max) return std::nullopt;
  c.prefix_ = n;
  return c;
}

bool Cidr::contains(std::string_view address) const {
  bool v6 = false;
  std::array<std::uint8_t, 16> b{};
  if (!parse_address(address, v6, b) || v6 != v6_) return false;
  unsigned full = prefix_ / 8, rest = prefix_ % 8;
  if (std::memcmp(b.data(), bytes_.data(), full) != 0) return false;
  if (rest == 0) return true;
  std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (b[full] & mask) == (bytes_[full] & mask);
}

std::string Cidr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6_ ? AF_INET6 : AF_INET, bytes_.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix_);
}

Cidr Cidr::network() const {
  Cidr n = *this;
  const unsigned max = v6_ ? 128 : 32;
  for (unsigned bit = prefix_; bit < max; ++bit)
    n.bytes_[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  return n;
}

bool Cidr::has_host_bits() const { return network().bytes_ != bytes_; }

Cidr Cidr::host() const {
  Cidr h = *this;
  h.prefix_ = v6_ ? 128 : 32;
  return h;
}

bool any_contains(const std::vector<Cidr>& ranges, std::string_view address) {
  for (auto& r : ranges) {
    if (r.contains(address)) return true;
  }
  return false;
}

std::vector<Cidr> parse_ranges(const std::vector<std::string>& texts) {
  std::vector<Cidr> out;
  for (auto& t : texts) {
    if (auto c = Cidr::parse(t)) out.push_back(*c);
  }
  return out;
}

}  // namespace mailroom::util
