// client/terminal: asking the person at the terminal for a secret without echoing it (the
// password for `send --auth` and the shell's `:auth`), as telnet users never could.
#pragma once

#include <optional>
#include <string>

namespace mailroom::client {

// Writes `prompt` to the terminal and reads one line from it with echo off. Reads /dev/tty, so
// it works while stdin carries a message body; nullopt when there is no terminal or on EOF.
std::optional<std::string> read_secret(const std::string& prompt);

// Reads one line from file descriptor `fd` with echo off when it is a terminal (the shell, whose
// commands may come from a script: then the next line is the secret).
std::optional<std::string> read_secret_from(int fd, const std::string& prompt);

}  // namespace mailroom::client
