// server/listener_runtime: what every session of one receive connector shares — its config,
// the directory, the queue, the TLS context, the pool for blocking work (argon2 password checks),
// the live connection counters, the per-client ledger (connection rate, AUTH failures) and the
// registry of live sessions (for the shutdown). Made for one configuration generation
// (server/reload.hpp): a reload makes new ones for later sessions, and each session holds its own
// by shared_ptr, so the config and TLS context it started with live until it ends.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <map>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "directory/directory.hpp"
#include "queue/queue.hpp"
#include "server/client_ledger.hpp"
#include "server/listener_metrics.hpp"
#include "server/recipient_policy.hpp"
#include "server/shutdown.hpp"
#include "util/cidr.hpp"

namespace mailroom::server {

// Live connection counts, touched only from the server's io thread.
struct ConnectionCounts {
  std::uint32_t total = 0;
  std::map<std::string, std::uint32_t> per_listener;
  std::map<std::string, std::uint32_t> per_client_ip;
};

// What one configuration load produced: the config and the TLS context made from it.
struct Generation {
  std::uint64_t number = 0;
  std::shared_ptr<const config::Config> cfg;
  std::shared_ptr<asio::ssl::context> tls;  // null when no certificate could be loaded
};

struct ListenerRuntime {
  std::shared_ptr<const Generation> generation;  // keeps cfg, listener and tls alive
  const config::Config& cfg;
  const config::ListenerConfig& listener;
  std::shared_ptr<directory::Directory> directory;
  queue::Queue& queue;
  asio::ssl::context* tls = nullptr;  // null when no certificate could be loaded
  asio::thread_pool& blocking_pool;
  ConnectionCounts& counts;
  ClientLedger& ledger;
  RecipientPolicy policy;
  std::vector<util::Cidr> remote_ranges;
  SessionRegistry& sessions;
  std::shared_ptr<ListenerMetrics> metrics = std::make_shared<ListenerMetrics>(listener.name);
};

}  // namespace mailroom::server
