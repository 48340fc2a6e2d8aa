#include "client/host_target.hpp"

#include <fmt/format.h>

#include <charconv>
#include <random>

#include "dns/mx_plan.hpp"

namespace mailroom::client {
namespace {

std::optional<std::uint16_t> port_of(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::string mx_summary(const dns::MxAnswer& mx) {
  std::string list;
  for (const auto& r : mx.records) {
    if (r.exchange == ".") continue;
    list += fmt::format("{}{} {}", list.empty() ? "" : ", ", r.preference, r.exchange);
  }
  return "MX " + list;
}

}  // namespace

std::optional<HostPort> parse_host_port(std::string_view text) {
  HostPort out;
  std::string_view host = text;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view rest = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      out.port = port_of(rest.substr(1));
      if (!out.port) return std::nullopt;
    }
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    auto colon = host.find(':');
    out.port = port_of(host.substr(colon + 1));
    if (!out.port) return std::nullopt;
    host = host.substr(0, colon);
  }
  if (host.empty()) return std::nullopt;
  std::error_code ec;
  auto address = asio::ip::make_address(std::string(host), ec);
  if (!ec) out.literal = address;
  out.host = std::string(host);
  return out;
}

asio::awaitable<HostAddresses> resolve_host(dns::Resolver& resolver, HostPort host) {
  HostAddresses out;
  out.name = host.host;
  if (host.literal) {
    out.addresses.push_back(*host.literal);
    co_return out;
  }
  dns::AddressAnswer a = co_await resolver.addresses(host.host);
  out.addresses = a.addresses;
  out.status = a.status;
  co_return out;
}

asio::awaitable<std::vector<HostAddresses>> resolve_mx_hosts(dns::Resolver& resolver,
                                                             std::string domain,
                                                             ProbeStep& dns_step) {
  std::vector<HostAddresses> out;
  dns_step = ProbeStep{};
  dns_step.step = Step::Dns;
  dns::MxAnswer mx = co_await resolver.mx(domain);
  std::mt19937_64 engine(std::random_device{}());
  dns::MxPlan plan = dns::plan_mx(mx, dns::random_index_from(engine));
  if (mx.null_mx) {
    dns_step.verdict = Verdict::Fail;
    dns_step.summary = domain + " publishes a null MX (RFC 7505): it accepts no mail";
    dns_step.causes = {"The domain says it takes no mail: check the recipient's address"};
    co_return out;
  }
  if (plan.hosts.empty()) {
    dns_step.verdict = Verdict::Fail;
    dns_step.summary =
        fmt::format("MX lookup for {} failed: {}", domain, dns::to_string(mx.status));
    if (mx.status == dns::Status::NxDomain) {
      dns_step.causes = {"The domain does not exist (check the spelling)"};
    } else {
      dns_step.causes = {
          "The DNS server does not answer or fails (check --dns or /etc/resolv.conf)"};
    }
    co_return out;
  }
  if (mx.status == dns::Status::NoData) {
    dns_step.verdict = Verdict::Warn;
    dns_step.summary =
        domain + " has no MX records: its own address is the mail host (implicit MX)";
  } else {
    dns_step.summary = mx_summary(mx);
  }
  for (const auto& h : plan.hosts) {
    HostPort target;
    target.host = h.name;
    target.literal = h.literal;
    HostAddresses resolved = co_await resolve_host(resolver, target);
    out.push_back(std::move(resolved));
  }
  co_return out;
}

}  // namespace mailroom::client
