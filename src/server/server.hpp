// server/server: `mailroom serve` — opens the directory and the queue, binds every receive
// connector, drops root privileges, and runs sessions until SIGTERM/SIGINT, then stops in order
// (server/shutdown.hpp) and returns 0. SIGHUP reloads the configuration through
// `reload_config`, which reads it again from where `cfg` came from (server/reload.hpp).
//
// Threads: one io thread runs every session and acceptor (sessions never block it: directory
// lookups come from an in-memory snapshot, password checks go to a small pool); the queue owns
// its commit and delivery threads. Accept errors (EMFILE and the like) are logged and retried
// after a pause, never spun on. Returns the process exit code; a listener that cannot bind, an
// unusable directory or queue is fatal at start (exit 1) with one clear line.
#pragma once

#include <functional>

#include "config/config.hpp"

namespace mailroom::server {

int run_server(const config::Config& cfg, std::function<config::Config()> reload_config);

}  // namespace mailroom::server
