// server/listener_runtime: what every session of one receive connector shares — its config,
// the directory, the queue, the TLS context, the pool for blocking work (argon2 password checks),
// the live connection counters, the per-client ledger (connection rate, AUTH failures) and the
// registry of live sessions (for the shutdown). Owned by the Server; outlives all its sessions.
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

struct ListenerRuntime {
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
  std::shared_ptr<ListenerMetrics> metrics = std::make_shared<ListenerMetrics>(listener.name);
  SessionRegistry& sessions;
};

}  // namespace mailroom::server
