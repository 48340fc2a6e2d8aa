// cli: the `mailroom` command line. Each stage registers its own subcommands; main() only
// dispatches. A subcommand signals its exit status by throwing CLI::RuntimeError(code):
// 0 success, 1 "not found / failed", 2 bad input or configuration (Postfix-style).
#pragma once

#include <CLI/CLI.hpp>

namespace mailroom::cli {

void add_server_commands(CLI::App& app);     // serve, check-config (server_commands.cpp)
void add_directory_commands(CLI::App& app);  // user, alias, domain (directory_commands.cpp)
void add_queue_commands(CLI::App& app);  // queue list|show|flush|delete|bounce (queue_commands.cpp)
void add_client_commands(CLI::App& app);  // mx, probe (client_commands.cpp), send, shell
void add_send(CLI::App& app);             // send (send_command.cpp)
void add_shell(CLI::App& app);            // shell (shell_command.cpp)
void add_track_command(CLI::App& app);    // track (track_command.cpp)

}  // namespace mailroom::cli
