// `mailroom serve` and `mailroom check-config`.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/config_lookup.hpp"
#include "config/config.hpp"
#include "net/tls_context.hpp"
#include "server/server.hpp"

namespace mailroom::cli {
namespace {

constexpr const char* kConfigHelp =
    "TOML config file (default: $MAILROOM_CONFIG, else /etc/mailroom/mailroom.toml, else the "
    "embedded defaults)";

// Configured TLS files that cannot be used are a configuration error (net/tls_context.hpp).
void check_tls_or_exit(const config::Config& cfg) {
  try {
    net::check_tls_files(cfg.tls);
  } catch (const config::ConfigError& e) {
    std::cerr << "mailroom: " << e.what() << "\n";
    throw CLI::RuntimeError(2);
  }
}

std::string listener_summary(const config::Config& cfg) {
  std::string out;
  for (const auto& l : cfg.listeners)
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", l.name, l.address);
  return out;
}

}  // namespace

void add_server_commands(CLI::App& app) {
  auto* serve = app.add_subcommand("serve", "Run the SMTP server");
  static std::optional<std::string> serve_config;
  serve->add_option("-c,--config", serve_config, kConfigHelp);
  serve->callback([] {
    auto cfg = load_command_config(serve_config).config;
    check_tls_or_exit(cfg);
    int rc = server::run_server(cfg);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  auto* check = app.add_subcommand("check-config",
                                   "Validate a config file and print the effective configuration");
  static std::optional<std::string> check_file, check_flag;
  check->add_option("file", check_file, "TOML config file (same as -c)");
  check->add_option("-c,--config", check_flag, kConfigHelp);
  check->callback([] {
    if (check_file && check_flag && *check_file != *check_flag) {
      std::cerr << "mailroom: check-config: give the file once (FILE or -c FILE)\n";
      throw CLI::RuntimeError(2);
    }
    auto [cfg, source] = load_command_config(check_flag ? check_flag : check_file);
    check_tls_or_exit(cfg);
    if (source.path && cfg.default_listeners)
      std::cerr << fmt::format(
          "mailroom: note: {} has no [[listener]]: the default listeners "
          "apply ({})\n",
          *source.path, listener_summary(cfg));
    std::cout << config::render_config(cfg);
  });
}

}  // namespace mailroom::cli
