// `mailroom serve` and `mailroom check-config`.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "net/tls_context.hpp"
#include "server/server.hpp"

namespace mailroom::cli {

void add_server_commands(CLI::App& app) {
  auto* serve = app.add_subcommand("serve", "Run the SMTP server");
  static std::string serve_config;
  serve->add_option("--config,-c", serve_config, "TOML config file (default: embedded defaults)");
  serve->callback([] {
    config::Config cfg;
    try {
      cfg = config::load_config(serve_config.empty() ? std::nullopt
                                                     : std::optional<std::string>(serve_config));
      net::check_tls_files(cfg.tls);
    } catch (const config::ConfigError& e) {
      std::cerr << "mailroom: " << e.what() << "\n";
      throw CLI::RuntimeError(2);
    }
    int rc = server::run_server(cfg);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  auto* check = app.add_subcommand("check-config",
                                   "Validate a config file and print the effective configuration");
  static std::string check_path;
  check->add_option("file", check_path, "TOML config file")->required();
  check->callback([] {
    try {
      auto cfg = config::load_config_file(check_path);
      net::check_tls_files(cfg.tls);
      std::cout << config::render_config(cfg);
    } catch (const config::ConfigError& e) {
      std::cerr << "mailroom: " << e.what() << "\n";
      throw CLI::RuntimeError(2);
    }
  });
}

}  // namespace mailroom::cli
