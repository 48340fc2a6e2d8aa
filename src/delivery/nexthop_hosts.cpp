#include "delivery/nexthop_hosts.hpp"

#include <spdlog/spdlog.h>

#include "dns/mx_plan.hpp"

namespace mailroom::delivery {

NexthopResolver::NexthopResolver(asio::any_io_executor ex, dns::ResolverOptions options,
                                 std::uint32_t max_mx_hosts)
    : resolver_(std::move(ex), std::move(options)),
      max_mx_hosts_(max_mx_hosts),
      rng_(std::random_device{}()) {}

asio::awaitable<void> NexthopResolver::resolve(const Nexthop& hop, std::vector<NexthopHost>& hosts,
                                               std::optional<dns::DeliveryFailure>& failure) {
  if (hop.literal) {
    hosts.push_back({hop.host, {asio::ip::tcp::endpoint(*hop.literal, hop.port)}});
    co_return;
  }
  std::vector<dns::MxHost> names;
  if (hop.mx_lookup) {
    auto answer = co_await resolver_.mx(hop.host);
    dns::MxPlanLimits limits;
    limits.max_hosts = max_mx_hosts_;
    auto plan = dns::plan_mx(answer, dns::random_index_from(rng_), limits);
    for (const auto& w : plan.warnings) spdlog::warn("delivery: {}: {}", hop.host, w);
    if (plan.failure) {
      failure = plan.failure;
      co_return;
    }
    names = std::move(plan.hosts);
  } else {
    dns::MxHost h;
    h.name = hop.host;
    names.push_back(h);
  }
  std::vector<dns::DeliveryFailure> host_failures;
  for (const auto& mx : names) {
    NexthopHost host{mx.name, {}};
    if (mx.literal) {
      host.endpoints.emplace_back(*mx.literal, hop.port);
    } else {
      auto answer = co_await resolver_.addresses(mx.name);
      if (answer.addresses.empty()) {
        host_failures.push_back(dns::host_lookup_failure(answer));
        continue;
      }
      for (const auto& a : answer.addresses) host.endpoints.emplace_back(a, hop.port);
    }
    hosts.push_back(std::move(host));
  }
  if (hosts.empty() && !host_failures.empty()) failure = dns::combine_host_failures(host_failures);
}

}  // namespace mailroom::delivery
