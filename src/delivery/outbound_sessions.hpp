// delivery/outbound_sessions: where the outbound agent's client sessions come from and go back
// to — the cache of ready connections (outbound_connections.hpp), new sessions configured by
// outbound_client_options.hpp, and the limit of max_connections deliveries at once. Used only on
// the agent's event-loop thread.
//
// As Postfix: a STARTTLS handshake that fails under opportunistic TLS is retried once in
// plaintext on a new connection, and the connection's key then says so, so that a cached
// plaintext connection to that peer is reused as such. A cached connection the server closed
// while idle (stale_connection_failure in outbound_policy.hpp) took nothing of the message: the
// caller drops it and opens a new one at once.
// Never: falls back to plaintext when the TLS level is required or verify, or hands out a
// cached connection that is not ready.
#pragma once

#include <asio.hpp>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "delivery/agent.hpp"
#include "delivery/outbound_connections.hpp"
#include "net/async_semaphore.hpp"
#include "net/smtp_client.hpp"

namespace mailroom::delivery {

class OutboundSessions {
 public:
  // `delivery` and `our_hostname` must outlive this object.
  OutboundSessions(asio::any_io_executor ex, const config::DeliveryConfig& delivery,
                   const std::string& our_hostname);

  // Held (with a net::SemaphorePermit) for the whole of each delivery to one host.
  net::AsyncSemaphore& delivery_slots() { return slots_; }

  // A ready connection from the cache for `key`, or one opened in plaintext after a failed
  // handshake with the same peer (then `key` says so); null when there is none.
  ConnectionCache::Client take_cached(ConnectionKey& key);
  // A new session, ready unless failure() says why not; `key` says so when it fell back to
  // plaintext.
  asio::awaitable<ConnectionCache::Client> open_session(ConnectionKey& key,
                                                        const net::ClientEndpoint& where,
                                                        config::OutboundTls level, bool credentials,
                                                        const std::string& desc);
  // One connection attempt, without the plaintext retry (LMTP, and open_session's two tries).
  asio::awaitable<ConnectionCache::Client> open_client(const ConnectionKey& key,
                                                       const net::ClientEndpoint& where,
                                                       config::OutboundTls level, bool lmtp,
                                                       bool credentials);
  // Kept for reuse when ready, else closed.
  void give(const ConnectionKey& key, ConnectionCache::Client client) {
    cache_.give(key, std::move(client));
  }
  void close_all() { cache_.close_all(); }

 private:
  asio::any_io_executor ex_;
  const config::DeliveryConfig& delivery_;
  const std::string& our_hostname_;
  std::unique_ptr<asio::ssl::context> tls_;
  ConnectionCache cache_;
  net::AsyncSemaphore slots_;
};

// What became of one recipient: its reply, else the session's failure, else no answer at all.
ItemResult outcome_of(const std::optional<smtp::RecipientResult>& reply,
                      const net::SmtpClient& client, const std::string& where);

// A reused connection that failed before the server said anything about this message.
bool went_stale(const net::MessageDelivery& delivery, const net::SmtpClient& client);

// Logs and closes a connection that went stale (went_stale) so the caller can open a new one.
void drop_stale_connection(net::SmtpClient& client, const std::string& desc);

}  // namespace mailroom::delivery
