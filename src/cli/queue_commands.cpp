// Placeholder until the queue issue lands its admin commands here.
#include "cli/commands.hpp"
namespace mailroom::cli {
void add_queue_commands(CLI::App&) {}
}  // namespace mailroom::cli
