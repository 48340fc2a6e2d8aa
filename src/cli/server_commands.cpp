// `mailroom serve` and `mailroom check-config`.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "config/config.hpp"

namespace mailroom::cli {

void add_server_commands(CLI::App& app) {
  auto* check = app.add_subcommand("check-config", "Validate a config file and print the effective configuration");
  static std::string check_path;
  check->add_option("file", check_path, "TOML config file")->required();
  check->callback([] {
    try {
      auto cfg = config::load_config_file(check_path);
      std::cout << config::render_config(cfg);
    } catch (const config::ConfigError& e) {
      std::cerr << "mailroom: " << e.what() << "\n";
      throw CLI::RuntimeError(2);
    }
  });
}

}  // namespace mailroom::cli
