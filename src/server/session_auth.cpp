// AUTH PLAIN (RFC 4616) and AUTH LOGIN (the seeds' 334 VXNlcm5hbWU6 / UGFzc3dvcmQ6 dialogue),
// per RFC 4954. Passwords are checked off the event loop (argon2id is slow on purpose), never
// logged; failures are logged with the user name (control octets escaped) and client IP only,
// delayed, and limited per session (limits.auth_failure_limit) and per client address across
// sessions (limits.auth_client_failure_limit per auth_client_window_s, in the ClientLedger):
// either limit answers 421 4.7.0 and closes, and a locked-out address gets that answer to any
// AUTH without its password being checked. "*" cancels an exchange (RFC 4954 4).
#include <spdlog/spdlog.h>

#include "server/async_bridge.hpp"
#include "server/session.hpp"
#include "smtp/auth.hpp"

namespace mailroom::server {

asio::awaitable<bool> Session::check_password(const std::string& user,
                                              const std::string& password) {
  auto dir = rt_.directory;
  std::function<bool()> verify = [dir, user, password] {
    return dir->verify_password(user, password);
  };
  co_return co_await net::run_blocking(transport_.socket().get_executor(), rt_.blocking_pool,
                                       std::move(verify));
}

asio::awaitable<void> Session::auth_result(bool ok, const std::string& user) {
  const auto shown = smtp::sanitize_text(user, 128);
  if (ok) {
    auth_user_ = user;
    spdlog::info("session={} client={} event=auth_ok user=\"{}\"", id_, client_ip_, shown);
    co_return reply(smtp::replies::auth_succeeded());
  }
  auth_failures_++;
  const auto client_failures = rt_.ledger.auth_failures.record(client_ip_, Clock::now());
  spdlog::warn("session={} client={} event=auth_failed user=\"{}\" failures={} client_failures={}",
               id_, client_ip_, shown, auth_failures_, client_failures);
  // Slow down password guessing without holding a thread: the timer runs on the event loop.
  if (rt_.cfg.limits.auth_failure_delay_ms > 0 && !closing_) {
    auth_delay_timer_.expires_after(
        std::chrono::milliseconds(rt_.cfg.limits.auth_failure_delay_ms));
    co_await auth_delay_timer_.async_wait(use_tuple);
  }
  reply(smtp::replies::auth_failed());
  if (auth_failures_ >= rt_.cfg.limits.auth_failure_limit ||
      client_failures >= rt_.cfg.limits.auth_client_failure_limit) {
    reply(smtp::replies::auth_too_many_failures());
    co_await flush();
    close("too many authentication failures");
  }
}

bool Session::client_locked_out() const {
  return rt_.ledger.auth_failures.count(client_ip_, Clock::now()) >=
         rt_.cfg.limits.auth_client_failure_limit;
}

// One client response: the initial response if given, else a prompt and the next line.
// nullopt means the exchange ended (cancelled, undecodable, connection gone): already replied.
asio::awaitable<std::optional<std::string>> Session::auth_response(std::optional<std::string> given,
                                                                   smtp::Reply prompt) {
  std::string text;
  if (given) {
    text = std::move(*given);
  } else {
    reply(prompt);
    auto line = co_await read_line();
    if (!line) co_return std::nullopt;
    trace_.received_secret(line->text.size());  // a credential: never its bytes (RFC 4954 4)
    if (line->too_long) {
      reply(smtp::replies::line_too_long());
      co_return std::nullopt;
    }
    text = std::move(line->text);
  }
  if (text == "*") {
    reply(smtp::replies::auth_cancelled());
    co_return std::nullopt;
  }
  if (text == "=") co_return std::string();
  auto decoded = smtp::base64_decode(text);
  if (!decoded) reply(smtp::replies::auth_bad_base64());
  co_return decoded;
}

asio::awaitable<void> Session::on_auth(const smtp::Command& cmd) {
  if (rt_.listener.auth == config::AuthMode::None)
    co_return reply(smtp::replies::auth_not_enabled());
  if (!auth_user_.empty()) co_return reply(smtp::replies::auth_already_done());
  if (!auth_offered()) co_return reply(smtp::replies::auth_needs_encryption());
  if (client_locked_out()) {
    spdlog::warn("session={} client={} event=auth_locked_out", id_, client_ip_);
    co_await reply_now(smtp::replies::auth_too_many_failures());
    close("client locked out after authentication failures");
    co_return;
  }
  auto parsed = smtp::parse_auth_args(cmd.args);
  if (!parsed.ok()) co_return reply(parsed.error);
  const auto& mech = parsed.value->mechanism;
  auto initial = parsed.value->initial_response;

  if (mech == "PLAIN") {
    auto blob = co_await auth_response(initial, smtp::replies::auth_empty_challenge());
    if (!blob) co_return;
    auto creds = smtp::parse_auth_plain(*blob);
    // We do not let one user act for another: an authzid, if given, must be the user itself.
    if (!creds || (!creds->authzid.empty() && creds->authzid != creds->authcid)) {
      // A named local, not a conditional expression inside the co_await: GCC 12 destroys such
      // a temporary twice (free(): double free, seen with AUTH PLAIN carrying an authzid).
      std::string shown_user = "(malformed)";
      if (creds) shown_user = creds->authcid;
      co_await auth_result(false, shown_user);
      co_return;
    }
    bool ok = co_await check_password(creds->authcid, creds->password);
    co_await auth_result(ok, creds->authcid);
  } else if (mech == "LOGIN") {
    auto user = co_await auth_response(initial, smtp::replies::auth_username_prompt());
    if (!user) co_return;
    auto password = co_await auth_response(std::nullopt, smtp::replies::auth_password_prompt());
    if (!password) co_return;
    bool ok = false;
    if (!user->empty()) ok = co_await check_password(*user, *password);
    co_await auth_result(ok, *user);
  } else {
    reply(smtp::replies::auth_mechanism_unknown());
  }
}

}  // namespace mailroom::server
