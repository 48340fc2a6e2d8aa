// Placeholder until the directory issue lands its admin commands here.
#include "cli/commands.hpp"
namespace mailroom::cli {
void add_directory_commands(CLI::App&) {}
}  // namespace mailroom::cli
