#include "dns/resolver_options.hpp"

#include <asio/ip/address.hpp>
#include <charconv>

namespace mailroom::dns {
namespace {

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<ServerAddress> parse_server_address(std::string_view text) {
  std::string_view host = text;
  std::optional<std::uint16_t> port = 53;
  bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = parse_port(rest.substr(1));
    }
  } else if (text.find(':') == text.rfind(':') && text.find(':') != std::string_view::npos) {
    // Exactly one colon: IPv4 with a port. More than one: a bare IPv6 address.
    host = text.substr(0, text.find(':'));
    port = parse_port(text.substr(text.find(':') + 1));
  }
  if (!port) return std::nullopt;
  asio::error_code ec;
  auto address = asio::ip::make_address(std::string(host), ec);
  if (ec || (bracketed && !address.is_v6())) return std::nullopt;
  return ServerAddress{address.to_string(), *port};
}

ResolverOptions resolver_options(const config::DnsConfig& dns) {
  ResolverOptions options;
  options.servers = dns.servers;
  options.timeout_ms = dns.timeout_ms;
  return options;
}

}  // namespace mailroom::dns
