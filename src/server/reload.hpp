// server/reload: SIGHUP (and `mailroom reload`) re-reads the configuration of a running server,
// as `postfix reload` does, without dropping a session or a message.
//
// Applied to sessions accepted afterwards: the listeners (added, removed, moved, any setting),
// [limits] (but the ledger windows), [tls] (the files are read again even when their names are
// the same, so a renewed certificate is used from the next handshake), and server.hostname,
// banner, log_level and shutdown_grace_s. Sessions in progress keep what they started with.
// Left as they were (config/config_diff.hpp): what lives for the whole run — [queue], [delivery],
// [dns], [directory], [metrics], server.data_dir, user and local_domains; a reload that changes
// them applies the rest and names those keys as needing a restart.
// Refused, changing nothing, with one line saying why: a configuration that does not load, [tls]
// files that cannot be used, a new listener address that cannot be bound (below port 1024 that
// takes CAP_NET_BIND_SERVICE once root privileges are dropped), a reload during a shutdown.
// Every attempt is logged (event=reloaded or event=reload_failed) and its line written to
// reload.status (server/control_files.hpp), where `mailroom reload` reads it.
// Runs on the io thread: a reload takes a few milliseconds, during which sessions wait.
// Never: lets a refused reload change anything; changes a live session's settings.
#pragma once

#include <functional>
#include <memory>

#include "config/config.hpp"
#include "server/control_files.hpp"
#include "server/listener_set.hpp"

namespace mailroom::server {

// The TLS context for `cfg`'s listeners, or null when none needs one or the generated default
// certificate cannot be made (logged: STARTTLS then answers 454). Configured files that cannot
// be used throw (config::ConfigError or std::runtime_error).
std::shared_ptr<asio::ssl::context> make_listener_tls(const config::Config& cfg);

class Reloader {
 public:
  using Loader = std::function<config::Config()>;  // the configuration's source; throws on error

  Reloader(ListenerSet& listeners, ListenerServices services, Loader load,
           const SessionRegistry& sessions, std::string data_dir)
      : listeners_(listeners),
        services_(std::move(services)),
        load_(std::move(load)),
        sessions_(sessions),
        data_dir_(std::move(data_dir)) {}

  // One reload attempt; its status is also logged and written to reload.status.
  ReloadStatus reload();

 private:
  ReloadStatus attempt();

  ListenerSet& listeners_;
  ListenerServices services_;
  Loader load_;
  const SessionRegistry& sessions_;
  std::string data_dir_;
  std::uint64_t attempts_ = 0;
};

}  // namespace mailroom::server
