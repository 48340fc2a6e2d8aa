// client/shell_impl: the state of one `mailroom shell` session (ShellSession::Impl), shared by
// the files that each do one part of it:
//   shell.cpp           connecting, a typed line's way, the end of input
//   shell_exchange.cpp  one command and its replies: late and unasked replies, the session's
//                       outcome, DATA mode (collected, dot-stuffed, sent on the lone ".")
//   shell_helpers.cpp   the ':' helpers (:auth, :starttls, :log, :help, :quit)
//   shell_log.cpp       what is shown, kept as the session's history and appended to the log
// Private to those files; the rest of the program uses client/shell.hpp.
// Never: include this outside the shell's own files; write a password to the screen, the log or
// the history (a secret's line goes through mask_).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <cstddef>
#include <exception>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "client/diagnosis.hpp"
#include "client/host_target.hpp"
#include "client/shell.hpp"
#include "net/smtp_client.hpp"

namespace mailroom::client {

class ShellSession::Impl {
 public:
  Impl(ShellSession& owner, ShellOptions o, Output out, AskSecret ask);
  ~Impl();

  bool connect();
  bool input(const std::string& typed);
  void finish();
  bool open() const { return client_->connected(); }

 private:
  // Runs one client operation on the session's loop until it is done (Threading: shell.hpp).
  template <typename T>
  T run(asio::awaitable<T> op) {
    T result{};
    std::exception_ptr error;
    asio::co_spawn(io_, std::move(op), [&result, &error](std::exception_ptr e, T value) {
      error = e;
      if (!e) result = std::move(value);
    });
    io_.restart();
    io_.run();
    if (error) std::rethrow_exception(error);
    return result;
  }

  // shell.cpp
  HostAddresses resolve(const HostPort& target);
  static NetworkFailure network_failure(const std::string& why);

  // shell_exchange.cpp
  void annotate(const net::RawExchange& x);
  net::RawExchange exchange(const std::string& bytes, bool typed);
  bool drain();
  bool after(const net::RawExchange& x);
  bool outcome(const net::RawExchange& x);
  void gone();
  bool data_line(const std::string& typed);

  // shell_helpers.cpp
  bool helper(const std::string& typed);
  bool starttls();
  net::RawExchange auth_step(const std::string& bytes, const std::string& mask = {});
  bool auth_login(const std::string& user);
  bool auth_plain(const std::string& user);

  // shell_log.cpp
  void say(const std::string& line);
  void record(const std::string& line);
  void transcript(const net::TranscriptLine& l);
  void open_log(const std::string& path);

  ShellSession& owner_;
  ShellOptions o_;
  Output out_;
  AskSecret ask_;
  asio::io_context io_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::unique_ptr<net::SmtpClient> client_;
  std::ofstream log_;
  std::vector<std::string> history_;
  bool echo_sent_ = true;
  std::string mask_;      // shown instead of a sent line that holds a secret
  std::size_t owed_ = 0;  // replies still due to commands whose wait timed out
  std::size_t late_ = 0;  // how many of the replies being shown are such late ones
  Step last_step_ = Step::Banner;
  std::string body_;
  std::size_t body_lines_ = 0;
};

}  // namespace mailroom::client
