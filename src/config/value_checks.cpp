// The value checks (value_checks.hpp).
#include "config/value_checks.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <cctype>

#include "config/config.hpp"
#include "util/ascii.hpp"
#include "util/cidr.hpp"

namespace mailroom::config {

// "[host]:port", "[host]", "host:port" or "host": host a domain name or an IP address (an IPv6
// address only in brackets), port 1-65535.
bool valid_nexthop(std::string_view text) {
  std::string_view host = text;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty() && port.front() != ':') return false;
    if (!port.empty()) port.remove_prefix(1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty() || host.size() > 255) return false;
  for (char ch : host)
    if (!(util::is_ascii_alnum(ch) || ch == '-' || ch == '.' || ch == ':' || ch == '_'))
      return false;
  if (text.back() == ':') return false;
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
      return false;
    auto n = std::stoul(std::string(port));
    if (n == 0 || n > 65535) return false;
  }
  return true;
}

void check_address(const std::string& key, const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
    throw ConfigError(fmt::format("{}: must be host:port (got \"{}\")", key, address));
  auto port_text = address.substr(colon + 1);
  if (port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5 ||
      std::stoul(port_text) > 65535)
    throw ConfigError(fmt::format("{}: invalid port in \"{}\"", key, address));
  // The listener binds exactly what it is given, so the host must be an IP literal (or "*"):
  // refused here, with the key, rather than at bind time.
  auto host = listener_host(address);
  in6_addr ip{};
  if (host != "*" && inet_pton(AF_INET, host.c_str(), &ip) != 1 &&
      inet_pton(AF_INET6, host.c_str(), &ip) != 1)
    throw ConfigError(
        fmt::format("{}: host must be an IP address or * (got \"{}\")", key, address));
}

void check_ranges(const std::string& key, const std::vector<std::string>& ranges) {
  for (auto& r : ranges) {
    auto range = util::Cidr::parse(r);
    if (!range) throw ConfigError(fmt::format("{}: invalid address range \"{}\"", key, r));
    // "192.168.1.1/24" means the network or the host; guessing either can open or close a relay.
    if (range->has_host_bits())
      throw ConfigError(fmt::format(
          "{}: \"{}\" has host bits set: write \"{}\" for the network or \"{}\" for the host", key,
          r, range->network().to_string(), range->host().to_string()));
  }
}

void check_domain(const std::string& key, const std::string& domain) {
  bool ok = !domain.empty() && domain.size() <= 253 && domain.front() != '.' &&
            domain.back() != '.' && domain.find("..") == std::string::npos;
  for (char c : domain) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.');
  }
  if (!ok) throw ConfigError(fmt::format("{}: invalid domain \"{}\"", key, domain));
}

}  // namespace mailroom::config
