#include "dns/name.hpp"

#include "util/ascii.hpp"

namespace mailroom::dns {

std::optional<std::string> normalize_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return std::nullopt;
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
      continue;
    }
    auto octet = static_cast<unsigned char>(c);
    if (octet < 0x21 || octet > 0x7E || c == '\\' || ++label > 63) return std::nullopt;
  }
  if (label == 0) return std::nullopt;
  return util::to_ascii_lower(name);
}

std::string reverse_name(const asio::ip::address& address) {
  std::string out;
  if (address.is_v6() && !address.to_v6().is_v4_mapped()) {
    static constexpr char kHex[] = "0123456789abcdef";
    auto bytes = address.to_v6().to_bytes();
    for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
      out += kHex[*it & 0x0F];
      out += '.';
      out += kHex[*it >> 4];
      out += '.';
    }
    return out + "ip6.arpa";
  }
  auto v4 = address.is_v4() ? address.to_v4()
                            : asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  auto bytes = v4.to_bytes();
  for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) out += std::to_string(*it) + ".";
  return out + "in-addr.arpa";
}

}  // namespace mailroom::dns
