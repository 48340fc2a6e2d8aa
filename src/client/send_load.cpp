// `mailroom send --count N --parallel C`: what smtp-source does, readable. C workers share one
// event loop; each keeps its connection for the next message and opens a new one (trying the
// hosts in order) when the last one failed. See send.hpp.
#include <fmt/format.h>

#include <asio/steady_timer.hpp>

#include "client/host_target.hpp"
#include "client/probe_steps.hpp"
#include "client/send.hpp"
#include "client/send_session.hpp"
#include "dns/resolver.hpp"
#include "net/asio_tuple.hpp"

namespace mailroom::client {
namespace {

using Clock = std::chrono::steady_clock;

std::string reply_key(const smtp::Reply& reply, bool from_server) {
  std::string key = std::to_string(reply.code);
  if (!reply.enhanced.empty()) key += " " + reply.enhanced;
  if (!from_server && !reply.lines.empty()) key += " (" + reply.lines.front() + ")";
  return key;
}

std::string recipient_domain(const SendOptions& o) {
  if (o.to.empty()) return "";
  auto at = o.to.back().rfind('@');
  return at == std::string::npos ? "" : o.to.back().substr(at + 1);
}

class LoadRunner {
 public:
  using Progress = std::function<void(std::size_t, std::size_t, std::size_t, double)>;
  LoadRunner(asio::io_context& io, const SendOptions& o, LoadReport& report,
             const Progress& progress)
      : io_(io),
        o_(o),
        report_(report),
        progress_(progress),
        resolver_(io.get_executor(), dns_options(o)),
        ticker_(io) {
    tls_ = make_send_tls_context(o);
  }

  asio::awaitable<void> run() {
    co_await find_endpoints();
    started_ = Clock::now();
    if (endpoints_.empty()) {
      fail_rest("no address to connect to");
      co_return;
    }
    workers_left_ = std::max<std::size_t>(1, std::min(o_.parallel, o_.count));
    for (std::size_t i = 0; i < workers_left_; ++i)
      asio::co_spawn(io_, worker(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
    if (progress_) co_await tick();
  }

  double elapsed_s() const {
    return std::chrono::duration<double>(Clock::now() - started_).count();
  }

 private:
  static dns::ResolverOptions dns_options(const SendOptions& o) {
    dns::ResolverOptions r;
    r.servers = o.dns_servers;
    r.timeout_ms = 3000;
    return r;
  }

  asio::awaitable<void> find_endpoints() {
    const std::uint16_t default_p = default_port(o_);
    if (!o_.socket.empty()) {
      net::ClientEndpoint e;
      e.kind = net::ClientEndpoint::Kind::Unix;
      e.unix_path = o_.socket;
      endpoints_.push_back(e);
      co_return;
    }
    std::vector<HostAddresses> hosts;
    std::uint16_t port = default_p;
    if (o_.server.empty()) {
      ProbeStep dns_step;
      hosts = co_await resolve_mx_hosts(resolver_, recipient_domain(o_), dns_step);
      if (dns_step.verdict == Verdict::Fail) report_.first_failure = dns_step;
    } else {
      std::optional<HostPort> target = parse_host_port(o_.server);
      if (!target) co_return;
      if (target->port) port = *target->port;
      HostAddresses resolved = co_await resolve_host(resolver_, *target);
      hosts.push_back(std::move(resolved));
    }
    for (const auto& h : hosts)
      for (const auto& a : h.addresses) {
        net::ClientEndpoint e;
        e.tcp = asio::ip::tcp::endpoint(a, port);
        e.server_name = h.name;
        endpoints_.push_back(e);
      }
  }

  // The messages nobody will send count as failed, with the reason.
  void fail_rest(const std::string& why) {
    while (next_ < o_.count) {
      ++next_;
      ++report_.failed;
      ++report_.replies["not sent (" + why + ")"];
    }
  }

  void record_failure(const std::vector<ProbeStep>& steps) {
    for (const auto& s : steps) {
      if (s.verdict != Verdict::Fail) continue;
      if (!report_.first_failure) report_.first_failure = s;
      return;
    }
  }

  // A new connection, trying each endpoint in turn. Null when none is ready.
  asio::awaitable<std::unique_ptr<net::SmtpClient>> connect(Transcript& transcript) {
    SessionPlan plan = plan_session(o_, 0);
    for (const auto& endpoint : endpoints_) {
      net::SmtpClientOptions options = send_client_options(o_, tls_.get(), plan);
      options.transcript = [&transcript](const net::TranscriptLine& l) { transcript.add(l); };
      auto client = std::make_unique<net::SmtpClient>(io_.get_executor(), std::move(options));
      ++report_.connections;
      transcript.mark();
      const bool ready = co_await client->open(endpoint);
      if (ready) {
        ever_connected_ = true;
        co_return client;
      }
      std::vector<ProbeStep> steps = steps_from_transcript(transcript, client->failure());
      record_failure(steps);
      last_connect_error_ = connect_error(client->failure());
      client->close();
    }
    co_return nullptr;
  }

  static std::string connect_error(const std::optional<smtp::SessionFailed>& failure) {
    if (!failure) return "connection failed";
    return reply_key(failure->reply, failure->from_server);
  }

  asio::awaitable<void> worker() {
    Transcript transcript;
    std::unique_ptr<net::SmtpClient> client;
    while (next_ < o_.count && !abort_) {
      const std::size_t index = next_++;
      if (!client || !client->ready()) {
        if (client) client->close();
        client = co_await connect(transcript);
        if (!client) {
          ++report_.failed;
          ++report_.replies[last_connect_error_];
          ++done_;
          // Nothing ever connected: the rest would fail the same way, one timeout each.
          if (!ever_connected_) {
            abort_ = true;
            fail_rest(last_connect_error_);
          }
          continue;
        }
      }
      SessionPlan plan = plan_session(o_, index);
      net::StringBodySource body(plan.message.bytes);
      transcript.mark();
      const auto t0 = Clock::now();
      net::MessageDelivery delivery = co_await client->send(plan.envelope, body);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      const bool ok = account(delivery, ms);
      if (!ok) record_failure(steps_from_transcript(transcript, client->failure()));
      ++done_;
    }
    if (client && client->ready()) co_await client->quit();
    if (client) client->close();
    if (--workers_left_ == 0) ticker_.cancel();
  }

  bool account(const net::MessageDelivery& delivery, double ms) {
    bool ok = delivery.submit == smtp::SubmitStatus::Started && !delivery.recipients.empty();
    if (delivery.submit != smtp::SubmitStatus::Started) {
      ++report_.replies["not started by the client"];
    }
    for (const auto& r : delivery.recipients) {
      if (!r) {
        ok = false;
        ++report_.replies["no result"];
        continue;
      }
      ++report_.replies[reply_key(r->reply, r->from_server)];
      if (r->reply.code / 100 != 2) ok = false;
    }
    if (ok) {
      ++report_.accepted;
      report_.latencies_ms.push_back(ms);
    } else {
      ++report_.failed;
    }
    return ok;
  }

  asio::awaitable<void> tick() {
    while (workers_left_ > 0) {
      ticker_.expires_after(std::chrono::milliseconds(200));
      std::tuple<std::error_code> waited = co_await ticker_.async_wait(use_tuple);
      (void)waited;
      progress_(done_, report_.accepted, report_.failed, elapsed_s());
    }
  }

  asio::io_context& io_;
  const SendOptions& o_;
  LoadReport& report_;
  const Progress& progress_;
  dns::Resolver resolver_;
  asio::steady_timer ticker_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::vector<net::ClientEndpoint> endpoints_;
  Clock::time_point started_ = Clock::now();
  std::size_t next_ = 0, done_ = 0, workers_left_ = 0;
  bool ever_connected_ = false, abort_ = false;
  std::string last_connect_error_ = "connection failed";
};

}  // namespace

LoadReport run_load(const SendOptions& options, const LoadRunner::Progress& progress) {
  asio::io_context io;
  LoadReport report;
  report.messages = options.count;
  double elapsed = 0;
  {
    LoadRunner runner(io, options, report, progress);
    asio::co_spawn(io, runner.run(), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.run();
    elapsed = runner.elapsed_s();
  }
  report.elapsed_s = elapsed;
  if (progress) progress(report.accepted + report.failed, report.accepted, report.failed, elapsed);
  if (report.failed > 0)
    report.exit_code = report.first_failure ? exit_code_for(report.first_failure->step)
                                            : exit_code_for(Step::Connect);
  return report;
}

}  // namespace mailroom::client
