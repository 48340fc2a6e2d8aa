#include "delivery/smtp_nexthop_delivery.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

#include "delivery/outbound_policy.hpp"

namespace mailroom::delivery {

asio::awaitable<void> SmtpNexthopDelivery::deliver(const AgentJob& job,
                                                   const std::vector<std::size_t>& items,
                                                   const std::string& nexthop,
                                                   std::vector<ItemResult>& results) {
  auto set_all = [&](const ItemResult& r) {
    for (auto k : items) results[k] = r;
  };
  const auto& d = delivery_;
  const bool via_relayhost = !d.relayhost.empty() && nexthop == d.relayhost;
  auto hop = parse_nexthop(nexthop, static_cast<std::uint16_t>(d.remote_port));
  if (!hop) {
    set_all(item_result(Disposition::Failed,
                        "5.1.2 bad destination host or domain \"" + nexthop + "\""));
    co_return;
  }
  auto& dest = destinations_.get(nexthop);
  const auto now = std::chrono::steady_clock::now();
  if (dest.resting(now)) {
    set_all(item_result(Disposition::Deferred,
                        dest.last_error + " (destination " + nexthop + " not tried again yet)"));
    co_return;
  }
  std::vector<NexthopHost> hosts;
  std::optional<dns::DeliveryFailure> dns_failure;
  co_await hosts_.resolve(*hop, hosts, dns_failure);
  if (hosts.empty()) {
    auto f = dns_failure.value_or(dns::DeliveryFailure{false, "4.4.3", "no host found", ""});
    auto r = item_result(f.permanent ? Disposition::Failed : Disposition::Deferred,
                         f.enhanced_status + " " + f.text);
    set_all(r);
    if (!f.permanent) dest.unreachable(r.reason, std::chrono::seconds(d.destination_backoff_s));
    co_return;
  }
  const auto level = tls_level_for(d, via_relayhost ? hop->host : nexthop);
  std::vector<std::size_t> pending = items;
  ItemResult last =
      item_result(Disposition::Deferred, "4.4.1 no host of " + nexthop + " could be reached");
  bool reached = false;
  for (const auto& host : hosts) {
    for (const auto& ep : host.endpoints) {
      if (pending.empty()) break;
      auto outcome = co_await attempts_.attempt(job, dest, host, ep, level, via_relayhost, pending,
                                                results, last);
      if (outcome.loop) {
        auto r =
            item_result(Disposition::Failed, "5.4.6 mail for " + nexthop + " loops back to myself");
        for (auto k : pending) results[k] = r;
        pending.clear();
        spdlog::error("delivery: {} (host {})", r.reason, host.name);
        co_return;
      }
      reached = reached || outcome.connected;
      // A host that answered (even with 4xx) has had its say: next host, not next address.
      if (outcome.connected) break;
    }
    if (pending.empty()) break;
  }
  for (auto k : pending) results[k] = last;
  if (reached) {
    dest.reachable();
  } else {
    dest.unreachable(last.reason, std::chrono::seconds(d.destination_backoff_s));
  }
}

}  // namespace mailroom::delivery
