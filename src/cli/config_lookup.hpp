// cli/config_lookup: which configuration a `mailroom` command runs with, found the same way by
// every command (serve, check-config, user, alias, domain, queue).
//
// Order: -c/--config FILE; else $MAILROOM_CONFIG (when set and not empty); else
// /etc/mailroom/mailroom.toml when it exists (where an installed service keeps it); else the
// embedded defaults (config::default_config()), whose data dir ./mailroom-data depends on the
// current directory. That last case is never silent: commands say on stderr that they use the
// embedded defaults and which data dir that is. A file named by the flag or the variable must
// load; a bad one is exit 2 with one line, never a fallback.
#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"

namespace mailroom::cli {

inline constexpr const char* kSystemConfigPath = "/etc/mailroom/mailroom.toml";

struct ConfigSource {
  std::optional<std::string> path;  // nullopt: the embedded defaults
  std::string origin;  // "--config", "MAILROOM_CONFIG", the system path, or "embedded defaults"
};

// `env_value`: getenv("MAILROOM_CONFIG") (may be null); `system_path`: kSystemConfigPath (tests
// pass another).
ConfigSource locate_config(const std::optional<std::string>& flag, const char* env_value,
                           const std::string& system_path = kSystemConfigPath);

struct CommandConfig {
  config::Config config;
  ConfigSource source;
};

// Locates (with the real environment) and loads the configuration. A ConfigError is printed as
// one "mailroom: ..." line and ends the command with exit 2; falling back to the embedded
// defaults prints defaults_notice() on stderr.
CommandConfig load_command_config(const std::optional<std::string>& flag);

// "mailroom: no config file (...): using the embedded defaults, data dir /abs/mailroom-data"
std::string defaults_notice(const config::Config& cfg);

}  // namespace mailroom::cli
