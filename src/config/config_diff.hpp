// config/config_diff: which settings a running server cannot take from a reloaded configuration.
//
// A reload (server/reload.hpp) applies the listeners, [limits] (but the two ledger windows),
// [tls], and server.hostname, banner, log_level and shutdown_grace_s. Everything else is read
// once at start by parts that live for the whole run (the queue, delivery, the resolver, the
// directory, the metrics endpoint, the data dir and the user the server runs as).
// Never: reports a key that a reload applies, or misses one it does not.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace mailroom::config {

// What a reloaded server runs with: `next`'s settings where a reload applies them, `running`'s
// everywhere else.
Config reloaded_config(const Config& running, const Config& next);

// "section.key" names, in render_config order, whose value in `next` is not what the reloaded
// server runs with (reloaded_config); empty when the reload takes everything.
std::vector<std::string> keys_needing_restart(const Config& running, const Config& next);

}  // namespace mailroom::config
