// client/shell: `mailroom shell HOST [PORT]` — the seeds' telnet session, made helpful. What the
// user types goes to the server as it is (raw mode of net::SmtpClient: the engine does not
// interfere, replies are still parsed and checked); every reply is annotated with what its code
// and enhanced status code mean (client/reply_meaning). Helpers do what is hard by hand:
//   :auth login USER   the base64 exchange, the server's prompts shown decoded, the password
//                      asked without echo and never shown or logged
//   :auth plain USER   the same as one AUTH PLAIN initial response
//   :starttls          STARTTLS and the handshake, with the certificate report
//   :log FILE          appends the session, from its start, to FILE (telnet's `set logfile`)
//   :help, :quit
// DATA: after a 354, lines are collected and sent dot-stuffed when a lone "." ends them, so a
// line starting with "." arrives intact. End of input (Ctrl-D) sends QUIT and ends cleanly.
//
// Threading: one thread. The event loop runs only while an exchange is in flight; between lines
// the kernel buffers what the server sends, and it is shown (as unsolicited) before the next
// command goes out, so a late reply is never taken for the answer to the next command.
// Never: write a password to the screen, the log or the transcript (shown as ****).
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mailroom::client {

struct ShellOptions {
  std::string host;  // name or address
  std::uint16_t port = 25;
  std::vector<std::string> dns_servers;
  bool tls_on_connect = false;
  std::string ca_file;
  std::chrono::seconds timeout{30};  // for each reply
  std::string log_file;              // as :log FILE from the start
  // The user types at a terminal: their own lines are on the screen already, so they are not
  // echoed as "-> " (generated ones, such as the AUTH exchange, are).
  bool interactive = false;
};

class ShellSession {
 public:
  using Output = std::function<void(const std::string& line)>;
  // Asks for a secret (no echo when on a terminal); nullopt when none can be had.
  using AskSecret = std::function<std::optional<std::string>(const std::string& prompt)>;

  ShellSession(ShellOptions options, Output out, AskSecret ask_secret);
  ~ShellSession();
  ShellSession(const ShellSession&) = delete;
  ShellSession& operator=(const ShellSession&) = delete;

  // Resolves, connects, shows the greeting. False when there is no session (exit_code() says).
  bool connect();
  // One line of input. False when the session is over.
  bool input(const std::string& line);
  // End of input: QUIT (ending DATA first if needed), close.
  void finish();

  bool in_data() const { return in_data_; }
  bool open() const;
  // 0 after QUIT or end of input; the step's code (client::exit_code_for) when the connection
  // failed or the server closed it unasked.
  int exit_code() const { return exit_code_; }

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  bool in_data_ = false;
  int exit_code_ = 0;
  friend class Impl;
};

// The :help text.
std::string shell_help();

}  // namespace mailroom::client
