#include "delivery/smtp_host_attempt.hpp"

#include <spdlog/spdlog.h>

#include "delivery/outbound_message.hpp"
#include "delivery/outbound_policy.hpp"
#include "net/body_source.hpp"
#include "smtp/address.hpp"

namespace mailroom::delivery {

using config::OutboundTls;
using Endpoint = asio::ip::tcp::endpoint;

namespace {

std::string endpoint_text(const Endpoint& ep) {
  auto a = ep.address().to_string();
  return ep.address().is_v6() ? "[" + a + "]:" + std::to_string(ep.port())
                              : a + ":" + std::to_string(ep.port());
}

}  // namespace

asio::awaitable<HostAttemptOutcome> SmtpHostAttempts::attempt(
    const AgentJob& job, NexthopState& dest, const NexthopHost& host, const Endpoint& ep,
    OutboundTls level, bool credentials, std::vector<std::size_t>& pending,
    std::vector<ItemResult>& results, ItemResult& last) {
  HostAttemptOutcome outcome;
  net::ClientEndpoint where;
  where.tcp = ep;
  where.server_name = host.name;
  const std::string desc = where.description();
  if (own_.contains(ep)) {
    outcome.loop = true;
    co_return outcome;
  }
  auto& slots = sessions_.delivery_slots();
  co_await slots.acquire();
  net::SemaphorePermit slot_permit(slots);
  co_await dest.window.acquire();
  net::SemaphorePermit window_permit(dest.window);

  ConnectionKey key;
  key.endpoint = endpoint_text(ep);
  key.tls = level;
  key.server_name = host.name;
  if (credentials) key.username = delivery_.relayhost_username;
  auto client = sessions_.take_cached(key);
  bool reused = client != nullptr;
  auto message = outbound_message(job, pending, false);
  net::FileBodySource body(job.message_path, 0, job.info.body_bytes);
  net::MessageDelivery delivery;
  for (;;) {
    if (!client) {
      client = co_await sessions_.open_session(key, where, level, credentials, desc);
      auto failed = client->failure();
      if (!client->ready()) {
        if (failed) last = result_from_session(*failed, desc);
        // Postfix logs each host that let a message down; the final status line names only
        // the last one.
        spdlog::info("delivery: id={} not delivered by {}: {}", job.info.envelope.id, desc,
                     last.reason);
        if (!failed || failed->stage == smtp::ClientState::Connecting) {
          dest.connect_failed();
        } else {
          outcome.connected = true;
        }
        co_return outcome;
      }
      dest.connected();
    }
    outcome.connected = true;
    const auto& greeting = client->session().capabilities().greeting_domain;
    if (!greeting.empty() &&
        smtp::normalize_domain(greeting) == smtp::normalize_domain(our_hostname_)) {
      outcome.loop = true;
      client->close();
      co_return outcome;
    }
    delivery = co_await client->send(message, body);
    const bool stale = reused && went_stale(delivery, *client);
    if (!stale) break;
    drop_stale_connection(*client, desc);
    client = nullptr;
    reused = false;
    key.plaintext_fallback = false;
  }
  switch (delivery.submit) {
    case smtp::SubmitStatus::Started:
      break;
    case smtp::SubmitStatus::NeedsSevenBit:
    case smtp::SubmitStatus::NeedsConversion: {
      const bool binary = delivery.submit == smtp::SubmitStatus::NeedsConversion;
      auto r = item_result(
          Disposition::Failed,
          fmt::format("5.6.3 host {} does not support {}; the message has {} content and was "
                      "not sent rather than altered",
                      desc, binary ? "BINARYMIME" : "8BITMIME", binary ? "binary" : "8-bit"));
      r.remote_mta = desc;
      for (auto k : pending) results[k] = r;
      pending.clear();
      sessions_.give(key, client);
      co_return outcome;
    }
    default: {
      auto r = item_result(Disposition::Failed,
                           "5.1.3 the envelope cannot be sent: bad address or parameter");
      for (auto k : pending) results[k] = r;
      pending.clear();
      sessions_.give(key, client);
      co_return outcome;
    }
  }
  std::vector<std::size_t> still;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    const ItemResult r = outcome_of(delivery.recipients[i], *client, desc);
    results[pending[i]] = r;
    if (r.disposition == Disposition::Deferred) {
      still.push_back(pending[i]);
      last = r;
    }
  }
  if (!still.empty())
    spdlog::info("delivery: id={} {} of {} recipient(s) not delivered by {}: {}",
                 job.info.envelope.id, still.size(), pending.size(), desc, last.reason);
  pending = std::move(still);
  sessions_.give(key, client);
  co_return outcome;
}

}  // namespace mailroom::delivery
