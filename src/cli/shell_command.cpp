// `mailroom shell HOST [PORT]`: client/shell.hpp at a terminal (line editing and history from
// libedit, BSD-licensed) or fed by a script (stdin not a terminal: one command per line, the same
// output). Exit status: 0 after QUIT or Ctrl-D; the failed step's code (as `probe`) otherwise.
#include <editline/readline.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/commands.hpp"
#include "client/host_target.hpp"
#include "client/probe.hpp"
#include "client/shell.hpp"
#include "client/terminal.hpp"

namespace mailroom::cli {
namespace {

// One line from the terminal (libedit) or the script; nullopt at the end of input.
std::optional<std::string> next_line(bool terminal, bool data) {
  if (!terminal) {
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  char* raw = ::readline(data ? "data> " : "smtp> ");
  if (!raw) {
    std::cout << std::endl;  // Ctrl-D leaves the cursor after the prompt
    return std::nullopt;
  }
  std::string line(raw);
  std::free(raw);
  if (!line.empty() && !data) ::add_history(line.c_str());
  return line;
}

}  // namespace

void add_shell(CLI::App& app) {
  auto* shell = app.add_subcommand(
      "shell",
      "Talk SMTP by hand, as with telnet, with every reply explained and helpers for "
      "AUTH, STARTTLS, logging and DATA");
  static client::ShellOptions o;
  static std::string host;
  static std::optional<std::uint16_t> port;
  static unsigned timeout_s = 30;
  shell->add_option("host", host, "host name or address (HOST:PORT and [ADDRESS]:PORT work too)")
      ->required();
  shell->add_option("port", port, "port (default 25)")->check(CLI::Range(1, 65535));
  shell->add_option("--dns", o.dns_servers, "DNS server IP[:PORT] (default: /etc/resolv.conf)")
      ->allow_extra_args(false);
  shell->add_flag("--tls-on-connect", o.tls_on_connect, "TLS from the first byte (port 465)");
  shell->add_option("--ca-file", o.ca_file, "extra trusted CA certificates (PEM)");
  shell->add_option("--timeout", timeout_s, "seconds to wait for each reply (default 30)")
      ->check(CLI::Range(1, 3600));
  shell->add_option("--log", o.log_file, "append the session to FILE (as :log FILE)");
  shell->footer(client::shell_help() +
                "\nExit status: 0 after QUIT or Ctrl-D; 2 bad arguments; 3 DNS; 4 connect; "
                "5 banner; otherwise the code of the step whose command the server hung up on "
                "(as for `mailroom probe`).");
  shell->callback([] {
    auto target = client::parse_host_port(host);
    if (!target) {
      std::cerr << "mailroom shell: host: expected HOST, HOST:PORT or [ADDRESS]:PORT, not \""
                << host << "\"\n";
      throw CLI::RuntimeError(2);
    }
    o.host = target->host;
    o.port = port.value_or(target->port.value_or(25));
    o.timeout = std::chrono::seconds(timeout_s);
    const bool terminal = ::isatty(STDIN_FILENO) == 1;
    o.interactive = terminal;
    if (terminal) ::using_history();
    auto out = [](const std::string& line) { std::cout << line << std::endl; };
    auto ask = [terminal](const std::string& prompt) -> std::optional<std::string> {
      if (terminal) return client::read_secret_from(STDIN_FILENO, prompt);
      // A script gives the secret on the next line.
      std::string line;
      if (!std::getline(std::cin, line)) return std::nullopt;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    };
    int rc = 0;
    try {
      client::ShellSession session(o, out, ask);
      if (session.connect()) {
        for (;;) {
          auto line = next_line(terminal, session.in_data());
          if (!line) {
            session.finish();
            break;
          }
          if (!session.input(*line)) break;
        }
      }
      rc = session.exit_code();
    } catch (const std::exception& e) {
      std::cerr << "mailroom shell: " << e.what() << "\n";
      rc = 2;
    }
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace mailroom::cli
