#include "delivery/lmtp_delivery.hpp"

#include "delivery/outbound_message.hpp"
#include "delivery/outbound_policy.hpp"
#include "net/body_source.hpp"

namespace mailroom::delivery {

using config::OutboundTls;

asio::awaitable<void> LmtpDelivery::deliver(const AgentJob& job,
                                            const std::vector<std::size_t>& items,
                                            const std::string& nexthop,
                                            std::vector<ItemResult>& results) {
  net::ClientEndpoint where;
  if (nexthop.rfind("unix:", 0) == 0) {
    where.kind = net::ClientEndpoint::Kind::Unix;
    where.unix_path = nexthop.substr(5);
  } else {
    auto hop = parse_nexthop(nexthop, 24);
    if (!hop || !hop->literal) {
      for (auto k : items)
        results[k] = item_result(Disposition::Deferred,
                                 "4.3.5 LMTP server \"" + nexthop + "\" must be an IP address");
      co_return;
    }
    where.tcp = asio::ip::tcp::endpoint(*hop->literal, hop->port);
  }
  const std::string desc = where.description();
  auto& slots = sessions_.delivery_slots();
  co_await slots.acquire();
  net::SemaphorePermit slot_permit(slots);
  auto& dest = destinations_.get("lmtp:" + nexthop);
  co_await dest.window.acquire();
  net::SemaphorePermit window_permit(dest.window);
  ConnectionKey key;
  key.endpoint = where.description();
  key.tls = OutboundTls::None;
  key.lmtp = true;
  auto client = sessions_.take_cached(key);
  bool reused = client != nullptr;
  auto message = outbound_message(job, items, true);
  net::FileBodySource body(job.message_path, 0, job.info.body_bytes);
  net::MessageDelivery delivery;
  for (;;) {
    if (!client)
      client = co_await sessions_.open_client(key, where, OutboundTls::None, true, false);
    if (!client->ready()) {
      const ItemResult r = outcome_of(std::nullopt, *client, desc);
      for (auto k : items) results[k] = r;
      co_return;
    }
    delivery = co_await client->send(message, body);
    const bool stale = reused && went_stale(delivery, *client);
    if (!stale) break;
    drop_stale_connection(*client, desc);
    client = nullptr;
    reused = false;
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto k = items[i];
    if (delivery.submit != smtp::SubmitStatus::Started) {
      results[k] = item_result(Disposition::Deferred,
                               "4.3.0 LMTP server " + desc + " cannot take this message");
    } else {
      results[k] = outcome_of(delivery.recipients[i], *client, desc);
    }
  }
  sessions_.give(key, client);
}

}  // namespace mailroom::delivery
