// The session's I/O loop: greeting, command dispatch, reply buffering, timeouts.
#include "server/session.hpp"

#include <spdlog/spdlog.h>

#include <atomic>

#include "smtp/reply.hpp"
#include "util/rfc5322_date.hpp"

namespace mailroom::server {

using asio::use_awaitable;
using std::chrono::seconds;

namespace {

std::string next_session_id() {
  static std::atomic<std::uint64_t> counter{0};
  static const auto boot = static_cast<std::uint64_t>(std::time(nullptr));
  return fmt::format("{:x}{:05x}", boot & 0xffffff, ++counter);
}

std::string ip_text(const asio::ip::address& addr) {
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_string();
  return addr.to_string();
}

std::string remote_ip(const asio::ip::tcp::socket& s) {
  std::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? "unknown" : ip_text(ep.address());
}

std::string endpoint_of(const asio::ip::tcp::socket& s, bool remote) {
  std::error_code ec;
  auto ep = remote ? s.remote_endpoint(ec) : s.local_endpoint(ec);
  return ec ? "" : journal::endpoint_text(ip_text(ep.address()), ep.port());
}

std::string local_ip(const asio::ip::tcp::socket& s) {
  std::error_code ec;
  auto ep = s.local_endpoint(ec);
  return ec ? "" : ip_text(ep.address());
}

constexpr std::size_t kFlushThresholdBytes = 8192;

}  // namespace

Session::Session(asio::ip::tcp::socket socket, std::shared_ptr<const ListenerRuntime> rt,
                 std::string session_id)
    : rt_owner_(std::move(rt)),
      rt_(*rt_owner_),
      transport_(std::move(socket)),
      id_(std::move(session_id)),
      client_ip_(remote_ip(transport_.socket())),
      local_ip_(local_ip(transport_.socket())),
      lines_(rt_.cfg.limits.max_command_line_bytes),
      watchdog_timer_(transport_.socket().get_executor()),
      auth_delay_timer_(transport_.socket().get_executor()) {
  rt_.counts.total++;
  rt_.counts.per_listener[rt_.listener.name]++;
  rt_.metrics->sessions_total.inc();
  rt_.metrics->sessions_open.add(1);
  rt_.counts.per_client_ip[client_ip_]++;
  rt_.sessions.add(this);
  if (rt_.listener.protocol_log) {
    trace_ = journal::ProtocolTrace(journal::installed_writer(), rt_.listener.name, id_);
    trace_.set_endpoints(endpoint_of(transport_.socket(), false),
                         endpoint_of(transport_.socket(), true));
  }
}

Session::~Session() {
  rt_.metrics->sessions_open.add(-1);
  rt_.counts.total--;
  rt_.counts.per_listener[rt_.listener.name]--;
  if (--rt_.counts.per_client_ip[client_ip_] == 0) rt_.counts.per_client_ip.erase(client_ip_);
  rt_.sessions.remove(this);
}

void start_session(asio::ip::tcp::socket socket, std::shared_ptr<const ListenerRuntime> rt) {
  auto ex = socket.get_executor();
  auto session = std::make_shared<Session>(std::move(socket), std::move(rt), next_session_id());
  asio::co_spawn(
      ex, [session]() { return session->run(); }, asio::detached);
}

void Session::set_deadline(seconds timeout, const char* limit) {
  const auto until = Clock::now() + timeout;
  deadline_ = std::min(until, session_deadline_);
  deadline_limit_ = until < session_deadline_ ? limit : "session_timeout_s";
}

asio::awaitable<void> Session::watchdog() {
  while (!closing_) {
    watchdog_timer_.expires_at(deadline_);
    co_await watchdog_timer_.async_wait(use_tuple);
    if (closing_) break;
    if (shutting_down_ && awaiting_command_) {
      spdlog::info("session={} client={} event=shutdown_close", id_, client_ip_);
      writing_ = true;
      trace_.sent(smtp::replies::shutting_down(rt_.cfg.server.hostname).wire());
      co_await transport_.write_all(smtp::replies::shutting_down(rt_.cfg.server.hostname).wire());
      close("shutdown");
      break;
    }
    if (Clock::now() < deadline_) continue;  // the deadline moved while we slept
    timed_out_ = true;
    spdlog::info("session={} client={} event=timeout limit={} state={}", id_, client_ip_,
                 deadline_limit_, reading_ ? "reading" : "writing");
    // Tell a client that is waiting on us why we hang up; one that stopped reading gets nothing.
    if (reading_ && !writing_) {
      writing_ = true;
      trace_.sent(smtp::replies::timeout(rt_.cfg.server.hostname).wire());
      co_await transport_.write_all(smtp::replies::timeout(rt_.cfg.server.hostname).wire());
    }
    close("timeout");
    break;
  }
}

void Session::close(const std::string& why) {
  if (closing_) return;
  closing_ = true;
  spdlog::debug("session={} event=close reason={}", id_, why);
  trace_.disconnect(why);
  transport_.close();
  watchdog_timer_.cancel();
  auth_delay_timer_.cancel();
  if (tarpit_timer_) tarpit_timer_->cancel();
}

void Session::reply(const smtp::Reply& r) {
  rt_.metrics->reply(r.code);
  const auto wire = r.wire();
  trace_.sent(wire);
  out_ += wire;
  unflushed_replies_++;
  if (r.code >= 400 && r.code != 421) errors_++;
  if (r.code >= 400) {
    spdlog::info("session={} client={} event=reply code={} text=\"{}\"", id_, client_ip_, r.code,
                 r.summary());
  }
}

asio::awaitable<bool> Session::flush() {
  if (out_.empty() || closing_) co_return !closing_;
  std::string data;
  data.swap(out_);
  unflushed_replies_ = 0;
  writing_ = true;
  auto ec = co_await transport_.write_all(data);
  writing_ = false;
  if (ec) {
    close("write error: " + ec.message());
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Session::reply_now(const smtp::Reply& r) {
  reply(r);
  co_await flush();
}

void Session::begin_shutdown() {
  shutting_down_ = true;
  if (awaiting_command_) watchdog_timer_.cancel();  // the watchdog answers and closes
}

asio::awaitable<bool> Session::fill(seconds timeout) {
  if (closing_) co_return false;
  if (shutting_down_) {
    spdlog::info("session={} client={} event=shutdown_close", id_, client_ip_);
    co_await reply_now(smtp::replies::shutting_down(rt_.cfg.server.hostname));
    close("shutdown");
    co_return false;
  }
  set_deadline(timeout);
  reading_ = true;
  awaiting_command_ = true;
  auto [ec, data] = co_await transport_.read_available();
  reading_ = false;
  awaiting_command_ = false;
  if (ec || data.empty()) {
    close(ec ? ec.message() : "eof");
    co_return false;
  }
  lines_.append(data);
  co_return true;
}

asio::awaitable<std::optional<smtp::LineBuffer::Line>> Session::read_line() {
  for (;;) {
    if (auto line = lines_.next_line()) co_return line;
    if (!co_await flush()) co_return std::nullopt;
    if (!co_await fill(seconds(rt_.cfg.limits.idle_timeout_s))) co_return std::nullopt;
  }
}

asio::awaitable<void> Session::error_delay() {
  // Tarpit clients that keep making mistakes (Postfix smtpd_soft_error_limit).
  if (errors_ < rt_.cfg.limits.soft_error_limit || rt_.cfg.limits.error_delay_ms == 0) co_return;
  if (!co_await flush()) co_return;
  // Keep the local timer: written with a member timer instead, this coroutine died of SIGILL under
  // GCC 12 (ud2 in its resume function) when a session closed at shutdown left an AUTH delay
  // (test_hostile_resource_auth.py), even with error_delay_ms = 0. Not understood: GCC's
  // coroutine code, most likely. close() cancels it through tarpit_timer_.
  asio::steady_timer t(transport_.socket().get_executor());
  t.expires_after(std::chrono::milliseconds(rt_.cfg.limits.error_delay_ms));
  tarpit_timer_ = &t;
  co_await t.async_wait(use_tuple);
  tarpit_timer_ = nullptr;
}

// Attempts this limit refuses count too: a client that keeps hammering stays out until it slows
// down, as with Postfix's anvil.
bool Session::connection_rate_exceeded() {
  const auto limit = rt_.listener.max_connection_rate_per_client;
  if (limit == 0) return false;
  return rt_.ledger.connections.record(client_ip_, Clock::now()) > limit;
}

asio::awaitable<void> Session::run() {
  auto self = shared_from_this();
  const auto& limits = rt_.cfg.limits;
  session_deadline_ = Clock::now() + seconds(limits.session_timeout_s);
  set_deadline(seconds(limits.idle_timeout_s));
  asio::co_spawn(
      transport_.socket().get_executor(), [self] { return self->watchdog(); }, asio::detached);

  spdlog::info("session={} event=connect client={} listener={}", id_, client_ip_,
               rt_.listener.name);
  trace_.connect();
  // Connection-level refusals happen before any TLS work, so they cost almost nothing.
  if (shutting_down_) {
    co_await reply_now(smtp::replies::shutting_down(rt_.cfg.server.hostname));
  } else if (!util::any_contains(rt_.remote_ranges, client_ip_)) {
    co_await reply_now(smtp::replies::client_not_permitted());
  } else if (rt_.counts.total > limits.max_connections ||
             rt_.counts.per_listener[rt_.listener.name] > rt_.listener.max_connections) {
    co_await reply_now(smtp::replies::service_not_available(rt_.cfg.server.hostname));
  } else if (rt_.counts.per_client_ip[client_ip_] > rt_.listener.max_connections_per_client) {
    co_await reply_now(smtp::replies::too_many_connections_from_client());
  } else if (connection_rate_exceeded()) {
    co_await reply_now(smtp::replies::connection_rate_exceeded());
  } else {
    bool ready = true;
    if (rt_.listener.tls == config::TlsMode::Implicit) {
      ready =
          rt_.tls != nullptr && !(co_await transport_.start_tls(*rt_.tls, net::TlsRole::Server));
      if (ready) {
        rt_.metrics->tls_ok.inc();
        trace_.info("TLS established: " + transport_.tls_description());
      } else {
        rt_.metrics->tls_failed.inc();
        spdlog::info("session={} event=tls_failed implicit=1", id_);
      }
    }
    if (ready) {
      reply(smtp::replies::greeting(rt_.cfg.server.hostname, rt_.cfg.server.banner,
                                    util::rfc5322_now()));
      co_await serve_commands();
    }
  }
  co_await flush();
  close("end");
  spdlog::info("session={} event=disconnect client={} messages={} errors={}{}", id_, client_ip_,
               messages_, errors_, timed_out_ ? " timeout=1" : "");
}

asio::awaitable<void> Session::serve_commands() {
  const auto& limits = rt_.cfg.limits;
  while (!closing_) {
    auto line = co_await read_line();
    if (!line) break;
    trace_.received_command(line->text);
    if (line->too_long) {
      reply(smtp::replies::line_too_long());
    } else if (smtp::contains_forbidden_bytes(line->text)) {
      reply(smtp::replies::bad_characters());
    } else {
      co_await dispatch(smtp::parse_command(line->text));
    }
    if (closing_ || closing_requested_) break;
    if (errors_ >= limits.hard_error_limit) {
      co_await reply_now(smtp::replies::too_many_errors());
      close("too many errors");
      break;
    }
    // Answers to a pipelined burst are held back at most this long (RFC 2920 lets us group
    // them); writing them blocks until the client reads, so a burst cannot pile up replies.
    const bool backlog =
        out_.size() > kFlushThresholdBytes || unflushed_replies_ >= limits.max_pipelined_commands;
    if (backlog && !co_await flush()) break;
  }
}

asio::awaitable<void> Session::dispatch(const smtp::Command& cmd) {
  using smtp::Verb;
  const auto errors_before = errors_;
  rt_.metrics->command(cmd.verb);
  // BDAT checks the order itself, after its size is known: refused chunks are still read.
  if (cmd.verb != Verb::Bdat) {
    if (auto refusal = state_.check(cmd.verb)) {
      reply(*refusal);
      if (errors_ > errors_before) co_await error_delay();
      co_return;
    }
  }
  switch (cmd.verb) {
    case Verb::Helo:
      on_helo(cmd, false);
      break;
    case Verb::Ehlo:
      on_helo(cmd, true);
      break;
    case Verb::Mail:
      on_mail(cmd);
      break;
    case Verb::Rcpt:
      on_rcpt(cmd);
      break;
    case Verb::Data:
      co_await on_data(cmd);
      break;
    case Verb::Bdat:
      co_await on_bdat(cmd);
      break;
    case Verb::Rset:
      on_rset(cmd);
      break;
    case Verb::Noop:
      reply(smtp::replies::ok());
      break;
    case Verb::Quit:
      on_quit(cmd);
      break;
    case Verb::Vrfy:
      on_vrfy(cmd);
      break;
    case Verb::Expn:
      reply(smtp::replies::expn_disabled());
      break;
    case Verb::Help:
      reply(smtp::replies::help());
      break;
    case Verb::Auth:
      co_await on_auth(cmd);
      break;
    case Verb::StartTls:
      co_await on_starttls(cmd);
      break;
    case Verb::Unknown:
      reply(smtp::replies::unrecognized_command());
      break;
  }
  if (errors_ > errors_before) co_await error_delay();
}

void Session::log_state(smtp::StateChange change) {
  if (change.changed()) spdlog::debug("session={} state {} -> {}", id_, change.from, change.to);
}

}  // namespace mailroom::server
