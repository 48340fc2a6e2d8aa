// `mailroom serve`, `mailroom reload` and `mailroom check-config`.
#include <fmt/format.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "cli/config_lookup.hpp"
#include "config/config.hpp"
#include "net/tls_context.hpp"
#include "server/control_files.hpp"
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

// `mailroom reload`: SIGHUP to the server named by data_dir/mailroom.pid, then its answer from
// reload.status. Exit 0 reloaded, 1 refused (the server runs on unchanged), 3 no server runs
// there or it did not answer in time.
void reload_server(const config::Config& cfg, double wait_s) {
  const auto& dir = cfg.server.data_dir;
  auto pid = server::running_server_pid(dir);
  if (!pid) {
    std::cerr << fmt::format("mailroom: reload: no mailroom server runs with data_dir {}\n", dir);
    throw CLI::RuntimeError(3);
  }
  const auto before = server::read_reload_status(dir);
  if (::kill(*pid, SIGHUP) != 0) {
    std::cerr << fmt::format("mailroom: reload: cannot signal pid {}: {}\n", *pid,
                             std::strerror(errno));
    throw CLI::RuntimeError(3);
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long>(wait_s * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    auto now = server::read_reload_status(dir);
    if (now && (!before || now->attempt != before->attempt)) {
      if (!now->ok) {
        std::cerr << "mailroom: " << now->line << "\n";
        throw CLI::RuntimeError(1);
      }
      std::cout << now->line << "\n";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::cerr << fmt::format("mailroom: reload: pid {} did not answer within {} s\n", *pid, wait_s);
  throw CLI::RuntimeError(3);
}

}  // namespace

void add_server_commands(CLI::App& app) {
  auto* serve = app.add_subcommand("serve", "Run the SMTP server");
  static std::optional<std::string> serve_config;
  serve->add_option("-c,--config", serve_config, kConfigHelp);
  serve->callback([] {
    auto [cfg, source] = load_command_config(serve_config);
    check_tls_or_exit(cfg);
    // A reload reads the same source again: the file found at start, or the embedded defaults.
    int rc = server::run_server(cfg, [path = source.path] { return config::load_config(path); });
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  auto* reload = app.add_subcommand(
      "reload", "Make the running server re-read its configuration (as SIGHUP does)");
  static std::optional<std::string> reload_config;
  static double reload_wait_s = 30;
  reload->add_option("-c,--config", reload_config, kConfigHelp);
  reload->add_option("--wait", reload_wait_s, "Seconds to wait for the server's answer")
      ->check(CLI::PositiveNumber);
  reload->callback([] { reload_server(load_command_config(reload_config).config, reload_wait_s); });

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
