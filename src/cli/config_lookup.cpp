// Finding the configuration; see config_lookup.hpp for the order.
#include "cli/config_lookup.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"

namespace mailroom::cli {

ConfigSource locate_config(const std::optional<std::string>& flag, const char* env_value,
                           const std::string& system_path) {
  if (flag && !flag->empty()) return {flag, "--config"};
  if (env_value && *env_value) return {std::string(env_value), "MAILROOM_CONFIG"};
  std::error_code ec;
  if (std::filesystem::exists(system_path, ec)) return {system_path, system_path};
  return {std::nullopt, "embedded defaults"};
}

std::string defaults_notice(const config::Config& cfg) {
  std::error_code ec;
  auto data_dir = std::filesystem::absolute(cfg.server.data_dir, ec);
  return fmt::format(
      "mailroom: no config file (no -c/--config, $MAILROOM_CONFIG or {}): using the embedded "
      "defaults, data dir {}",
      kSystemConfigPath, ec ? cfg.server.data_dir : data_dir.lexically_normal().string());
}

CommandConfig load_command_config(const std::optional<std::string>& flag) {
  auto source = locate_config(flag, std::getenv("MAILROOM_CONFIG"));
  try {
    auto cfg = config::load_config(source.path);
    if (!source.path) std::cerr << defaults_notice(cfg) << "\n";
    return {std::move(cfg), std::move(source)};
  } catch (const config::ConfigError& e) {
    std::cerr << "mailroom: " << e.what() << "\n";
    throw CLI::RuntimeError(2);
  }
}

}  // namespace mailroom::cli
