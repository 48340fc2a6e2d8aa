#include "client/shell.hpp"

#include <fmt/format.h>

#include "client/probe.hpp"
#include "client/probe_steps.hpp"
#include "client/shell_impl.hpp"
#include "dns/resolver.hpp"

namespace mailroom::client {

ShellSession::Impl::Impl(ShellSession& owner, ShellOptions o, Output out, AskSecret ask)
    : owner_(owner), o_(std::move(o)), out_(std::move(out)), ask_(std::move(ask)) {
  net::ClientTlsOptions tls;
  tls.ca_file = o_.ca_file;
  tls_ = net::make_client_tls_context(tls);
  net::SmtpClientOptions c;
  c.session.implicit_tls = o_.tls_on_connect;
  c.tls_context = tls_.get();
  c.timeouts_s.fill(static_cast<std::uint32_t>(o_.timeout.count()));
  c.transcript = [this](const net::TranscriptLine& l) { transcript(l); };
  client_ = std::make_unique<net::SmtpClient>(io_.get_executor(), std::move(c));
  if (!o_.log_file.empty()) open_log(o_.log_file);
}

bool ShellSession::Impl::connect() {
  std::optional<HostPort> target = parse_host_port(o_.host);
  if (!target) {
    say(fmt::format("FAIL connect: \"{}\" is not a host name or address", o_.host));
    owner_.exit_code_ = exit_code_for(Step::Connect);
    return false;
  }
  HostAddresses host = resolve(*target);
  if (host.addresses.empty()) {
    say(fmt::format("FAIL DNS: {} has no address ({})", host.name, dns::to_string(host.status)));
    owner_.exit_code_ = exit_code_for(Step::Dns);
    return false;
  }
  net::ClientEndpoint where;
  where.tcp = asio::ip::tcp::endpoint(host.addresses.front(), o_.port);
  where.server_name = host.name;
  say(fmt::format("** trying {}", where.description()));
  net::RawExchange greeting = run(client_->open_raw(where));
  if (!client_->connected() && greeting.replies.empty()) {
    std::string why = client_->failure() ? client_->failure()->reply.summary() : "TLS failed";
    say("FAIL connect: " + why);
    for (const auto& c : causes_for_network(Step::Connect, network_failure(why)))
      say("        - " + c);
    owner_.exit_code_ = exit_code_for(Step::Connect);
    return false;
  }
  annotate(greeting);
  if (greeting.replies.empty() || greeting.malformed) {
    say(greeting.timed_out ? fmt::format("FAIL banner: no greeting within {} s", o_.timeout.count())
                           : std::string("FAIL banner: no valid greeting"));
    owner_.exit_code_ = exit_code_for(Step::Banner);
    client_->close();
    return false;
  }
  say("** connected; :help lists the helpers, Ctrl-D ends the session");
  return client_->connected();
}

bool ShellSession::Impl::input(const std::string& typed) {
  if (owner_.in_data_) return data_line(typed);
  if (!drain()) return false;
  if (!typed.empty() && typed.front() == ':') return helper(typed);
  // The step the exit status names when the server hangs up on this line.
  last_step_ = step_of_command(typed).value_or(Step::Banner);
  net::RawExchange x = exchange(typed + "\r\n", true);
  if (!after(x)) return false;
  const int code = x.replies.empty() ? 0 : x.replies.back().reply.code;
  if (code == 354) {
    owner_.in_data_ = true;
    body_.clear();
    body_lines_ = 0;
    say("** enter the message; a line with a single \".\" ends it");
  }
  if (code == 221 && last_step_ == Step::Quit) {
    client_->close();
    return false;
  }
  return true;
}

void ShellSession::Impl::finish() {
  if (!client_->connected()) return;
  if (owner_.in_data_) {
    say("** end of input: ending the message first");
    data_line(".");
  }
  if (!client_->connected()) return;
  last_step_ = Step::Quit;
  net::RawExchange x = exchange("QUIT\r\n", false);
  annotate(x);
  client_->close();
}

ShellSession::Impl::~Impl() {
  client_->close();
  client_.reset();
}

HostAddresses ShellSession::Impl::resolve(const HostPort& target) {
  if (target.literal) return HostAddresses{target.host, {*target.literal}, dns::Status::Ok};
  // Its own event loop, gone before the session's: the resolver's sockets never keep the
  // session's loop running.
  asio::io_context io;
  dns::ResolverOptions options;
  options.servers = o_.dns_servers;
  options.timeout_ms = 3000;
  HostAddresses out;
  {
    dns::Resolver resolver(io.get_executor(), options);
    asio::co_spawn(io, resolve_host(resolver, target),
                   [&out](std::exception_ptr e, HostAddresses h) {
                     if (!e) out = std::move(h);
                   });
    io.run();
  }
  return out;
}

NetworkFailure ShellSession::Impl::network_failure(const std::string& why) {
  if (why.find("refused") != std::string::npos) return NetworkFailure::Refused;
  if (why.find("timed out") != std::string::npos) return NetworkFailure::TimedOut;
  if (why.find("unreachable") != std::string::npos) return NetworkFailure::Unreachable;
  return NetworkFailure::ClosedMidReply;
}

ShellSession::ShellSession(ShellOptions options, Output out, AskSecret ask_secret)
    : impl_(std::make_unique<Impl>(*this, std::move(options), std::move(out),
                                   std::move(ask_secret))) {}

ShellSession::~ShellSession() = default;

bool ShellSession::connect() { return impl_->connect(); }
bool ShellSession::input(const std::string& line) { return impl_->input(line); }
void ShellSession::finish() { impl_->finish(); }
bool ShellSession::open() const { return impl_->open(); }

}  // namespace mailroom::client
