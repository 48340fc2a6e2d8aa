// mailroom: one binary, one subcommand per job (serve, check-config, user, alias, domain, queue;
// the tester's mx, probe, send, shell; track).
#include <cstdio>
#include <string>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mailroom: mail transfer agent and SMTP diagnostic toolkit"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "mailroom 0.1.0");
  // One line per usage error, like every other error the tools print (no "Run with --help" tail).
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "mailroom: " + std::string(e.what()) + "\n";
  });
  mailroom::cli::add_server_commands(app);
  mailroom::cli::add_directory_commands(app);
  mailroom::cli::add_queue_commands(app);
  mailroom::cli::add_client_commands(app);
  mailroom::cli::add_track_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 maps usage errors to exit code 106 etc.; Postfix-style tools exit 2 on bad usage.
    int rc = app.exit(e);
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return 0;
    return rc == 0 ? 0 : (dynamic_cast<const CLI::RuntimeError*>(&e) ? e.get_exit_code() : 2);
  }
  return 0;
}
