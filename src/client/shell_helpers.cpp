#include <fmt/format.h>

#include "client/probe.hpp"
#include "client/shell_impl.hpp"
#include "smtp/auth.hpp"
#include "util/ascii.hpp"

namespace mailroom::client {

std::string shell_help() {
  return "Type SMTP commands as you would in telnet (EHLO, MAIL FROM:<a@b>, RCPT TO:<c@d>, DATA,\n"
         "RSET, NOOP, QUIT ...). Every reply is explained. After DATA's 354, type the message;\n"
         "a line with a single \".\" ends it (lines starting with \".\" are dot-stuffed for you).\n"
         "  :auth login USER   AUTH LOGIN, base64 done for you; the password is asked, not shown\n"
         "  :auth plain USER   AUTH PLAIN with the same prompt\n"
         "  :starttls          STARTTLS and the TLS handshake (then EHLO again)\n"
         "  :log FILE          append this session, from its start, to FILE\n"
         "  :help              this text\n"
         "  :quit              QUIT and leave (so does Ctrl-D)";
}

bool ShellSession::Impl::helper(const std::string& typed) {
  std::vector<std::string> words;
  for (std::size_t i = 1; i < typed.size();) {
    auto sp = typed.find(' ', i);
    if (sp == std::string::npos) sp = typed.size();
    if (sp > i) words.push_back(typed.substr(i, sp - i));
    i = sp + 1;
  }
  const std::string verb = words.empty() ? "" : util::to_ascii_lower(words[0]);
  if (verb == "help") {
    for (std::size_t start = 0; start < shell_help().size();) {
      auto nl = shell_help().find('\n', start);
      if (nl == std::string::npos) nl = shell_help().size();
      say(shell_help().substr(start, nl - start));
      start = nl + 1;
    }
    return true;
  }
  if (verb == "quit") {
    finish();
    return false;
  }
  if (verb == "log") {
    if (words.size() != 2) {
      say("** usage: :log FILE");
      return true;
    }
    open_log(words[1]);
    return true;
  }
  if (verb == "starttls") return starttls();
  if (verb == "auth" && words.size() == 3) {
    const std::string mech = util::to_ascii_lower(words[1]);
    if (mech == "login") return auth_login(words[2]);
    if (mech == "plain") return auth_plain(words[2]);
  }
  if (verb == "auth") {
    say("** usage: :auth login USER  or  :auth plain USER");
    return true;
  }
  say("** unknown helper \"" + typed + "\"; :help lists them");
  return true;
}

bool ShellSession::Impl::starttls() {
  last_step_ = Step::StartTls;
  net::RawExchange x = exchange("STARTTLS\r\n", false);
  if (!after(x)) return false;
  if (x.replies.empty() || x.replies.back().reply.code != 220) {
    say("** STARTTLS was not accepted; the session goes on in plaintext");
    return true;
  }
  const bool ok = run(client_->raw_start_tls());
  if (!ok) {
    say("FAIL STARTTLS: the TLS handshake failed");
    owner_.exit_code_ = exit_code_for(Step::StartTls);
    client_->close();
    return false;
  }
  if (const auto& tls = client_->tls()) say("** " + certificate_line(*tls));
  say("** TLS is on: say EHLO again, the server has forgotten the session (RFC 3207 4.2)");
  return true;
}

// One step of an AUTH exchange; a secret's line is shown and logged as `mask`.
net::RawExchange ShellSession::Impl::auth_step(const std::string& bytes, const std::string& mask) {
  mask_ = mask;
  net::RawExchange x = exchange(bytes, false);
  mask_.clear();
  return x;
}

bool ShellSession::Impl::auth_login(const std::string& user) {
  last_step_ = Step::Auth;
  net::RawExchange first = auth_step("AUTH LOGIN\r\n");
  if (!after(first)) return false;
  if (first.replies.empty() || first.replies.back().reply.code != 334) return true;
  say(fmt::format("** answering with the user name \"{}\" in base64", user));
  net::RawExchange second = auth_step(smtp::base64_encode(user) + "\r\n");
  if (!after(second)) return false;
  if (second.replies.empty() || second.replies.back().reply.code != 334) return true;
  auto password = ask_(fmt::format("Password for {}: ", user));
  if (!password) {
    say("** no password given: cancelling the exchange");
    net::RawExchange cancel = auth_step("*\r\n");
    return after(cancel);
  }
  say("** answering with the password in base64 (not shown)");
  net::RawExchange third = auth_step(smtp::base64_encode(*password) + "\r\n", "****");
  return after(third);
}

bool ShellSession::Impl::auth_plain(const std::string& user) {
  last_step_ = Step::Auth;
  auto password = ask_(fmt::format("Password for {}: ", user));
  if (!password) {
    say("** no password given");
    return true;
  }
  std::string response;
  response.push_back('\0');
  response += user;
  response.push_back('\0');
  response += *password;
  net::RawExchange x =
      auth_step("AUTH PLAIN " + smtp::base64_encode(response) + "\r\n", "AUTH PLAIN ****");
  return after(x);
}

}  // namespace mailroom::client
