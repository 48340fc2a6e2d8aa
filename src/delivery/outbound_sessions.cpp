#include "delivery/outbound_sessions.hpp"

#include <spdlog/spdlog.h>

#include "delivery/outbound_client_options.hpp"
#include "delivery/outbound_policy.hpp"
#include "net/tls_client.hpp"

namespace mailroom::delivery {

using config::OutboundTls;

namespace {

std::unique_ptr<asio::ssl::context> client_tls_context(const config::DeliveryConfig& d) {
  net::ClientTlsOptions tls;
  tls.ca_file = d.tls_ca_file;
  return net::make_client_tls_context(tls);
}

}  // namespace

OutboundSessions::OutboundSessions(asio::any_io_executor ex, const config::DeliveryConfig& delivery,
                                   const std::string& our_hostname)
    : ex_(ex),
      delivery_(delivery),
      our_hostname_(our_hostname),
      tls_(client_tls_context(delivery)),
      cache_(ex, std::chrono::seconds(delivery.connection_cache_s), delivery.connection_reuse_limit,
             delivery.max_connections),
      slots_(ex, delivery.max_connections) {}

ConnectionCache::Client OutboundSessions::take_cached(ConnectionKey& key) {
  auto client = cache_.take(key);
  if (client) return client;
  ConnectionKey plain = key;
  plain.plaintext_fallback = true;
  client = cache_.take(plain);
  if (client) key = plain;
  return client;
}

asio::awaitable<ConnectionCache::Client> OutboundSessions::open_session(
    ConnectionKey& key, const net::ClientEndpoint& where, OutboundTls level, bool credentials,
    const std::string& desc) {
  auto client = co_await open_client(key, where, level, false, credentials);
  auto failed = client->failure();
  if (!client->ready() && failed && level == OutboundTls::Opportunistic &&
      failed->cause == smtp::FailureCause::TlsFailed) {
    spdlog::info("delivery: TLS with {} failed ({}); retrying without TLS", desc,
                 failed->reply.summary());
    key.plaintext_fallback = true;
    client = co_await open_client(key, where, level, false, credentials);
  }
  co_return client;
}

asio::awaitable<ConnectionCache::Client> OutboundSessions::open_client(
    const ConnectionKey& key, const net::ClientEndpoint& where, OutboundTls level, bool lmtp,
    bool credentials) {
  auto options = outbound_client_options(delivery_, our_hostname_, tls_.get(),
                                         key.plaintext_fallback ? OutboundTls::None : level, lmtp,
                                         credentials);
  auto client = std::make_shared<net::SmtpClient>(ex_, std::move(options));
  co_await client->open(where);
  co_return client;
}

// A plain function: GCC 12 mishandles class-type conditional expressions in coroutine bodies.
ItemResult outcome_of(const std::optional<smtp::RecipientResult>& reply,
                      const net::SmtpClient& client, const std::string& where) {
  if (reply) return result_from_reply(*reply, where);
  if (client.failure()) return result_from_session(*client.failure(), where);
  return item_result(Disposition::Deferred, "4.4.2 no reply from " + where);
}

bool went_stale(const net::MessageDelivery& delivery, const net::SmtpClient& client) {
  return delivery.submit == smtp::SubmitStatus::Started && client.failure() &&
         stale_connection_failure(*client.failure());
}

void drop_stale_connection(net::SmtpClient& client, const std::string& desc) {
  spdlog::info("delivery: cached connection to {} was closed by the server ({}); opening a new one",
               desc, client.failure()->reply.summary());
  client.close();
}

}  // namespace mailroom::delivery
