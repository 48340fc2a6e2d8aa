// `mailroom send`, one message: hosts (--server or MX), one SMTP session per attempt on the
// delivery client, the transcript as it happens, the verdict. See send.hpp.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "client/host_target.hpp"
#include "client/probe_steps.hpp"
#include "client/reply_meaning.hpp"
#include "client/send.hpp"
#include "client/send_session.hpp"
#include "dns/resolver.hpp"
#include "net/smtp_client.hpp"
#include "util/ascii.hpp"

namespace mailroom::client {

std::optional<QuitAfter> parse_quit_after(std::string_view text) {
  std::string t = util::to_ascii_lower(text);
  if (t == "connect" || t == "banner") return QuitAfter::Connect;
  if (t == "ehlo" || t == "helo" || t == "lhlo" || t == "first-ehlo") return QuitAfter::Ehlo;
  if (t == "tls" || t == "starttls") return QuitAfter::Tls;
  if (t == "auth") return QuitAfter::Auth;
  if (t == "mail" || t == "from") return QuitAfter::Mail;
  if (t == "rcpt" || t == "to") return QuitAfter::Rcpt;
  if (t == "data" || t == "dot") return QuitAfter::Data;
  return std::nullopt;
}

std::string send_exit_code_table() {
  return "Exit status: 0 sent (or stopped where --quit-after said, every step passed); 2 bad "
         "arguments; 3 DNS; 4 connect; 5 banner; 6 EHLO/HELO; 7 STARTTLS/TLS or certificate "
         "(--tls-verify); 8 AUTH; 9 MAIL FROM; 10 RCPT TO (any recipient refused); 11 DATA or "
         "the end-of-data reply; 14 QUIT. The first failed step decides, as for `mailroom probe`.";
}

namespace {

enum class Outcome { Accepted, Stopped, Transient, Permanent };

std::string_view prefix_of(net::TranscriptLine::Direction d) {
  switch (d) {
    case net::TranscriptLine::Direction::Sent:
      return "-> ";
    case net::TranscriptLine::Direction::Received:
      return "<- ";
    case net::TranscriptLine::Direction::Info:
      return "** ";
  }
  return "";
}

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? "" : address.substr(at + 1);
}

// swaks routes by the last recipient's domain; so do we.
std::string recipient_domain(const SendOptions& o) {
  if (o.to.empty()) return "";
  return domain_of(o.to.back());
}

std::string endpoint_text(const std::string& name, const std::string& address, std::uint16_t port) {
  if (name == address) return fmt::format("[{}]:{}", address, port);
  return fmt::format("{}[{}]:{}", name, address, port);
}

// The first failed step, and whether it was temporary.
std::optional<ProbeStep> first_failure(const std::vector<ProbeStep>& steps) {
  std::optional<ProbeStep> out;
  for (const auto& s : steps) {
    if (s.verdict != Verdict::Fail) continue;
    if (!out || static_cast<int>(s.step) < static_cast<int>(out->step)) out = s;
  }
  return out;
}

bool permanent(const ProbeStep& s) {
  return !s.reply.empty() && !s.reply.back().empty() && s.reply.back()[0] == '5';
}

class Sender {
 public:
  Sender(asio::io_context& io, const SendOptions& o, SendReport& report, std::ostream* live)
      : io_(io), o_(o), report_(report), live_(live), resolver_(io.get_executor(), dns(o)) {
    tls_ = make_send_tls_context(o);
  }

  asio::awaitable<void> run() {
    if (!o_.socket.empty()) {
      net::ClientEndpoint where;
      where.kind = net::ClientEndpoint::Kind::Unix;
      where.unix_path = o_.socket;
      HostProbe probe;
      probe.host = "unix:" + o_.socket;
      info("trying " + probe.host);
      co_await attempt(where, probe);
      report_.hosts.push_back(std::move(probe));
      co_return;
    }
    std::vector<HostAddresses> hosts;
    std::uint16_t port = default_port(o_);
    if (o_.server.empty()) {
      ProbeStep dns_step;
      const std::string domain = recipient_domain(o_);
      hosts = co_await resolve_mx_hosts(resolver_, domain, dns_step);
      info(dns_step_line(domain, dns_step));
      report_.dns.push_back(std::move(dns_step));
    } else {
      std::optional<HostPort> target = parse_host_port(o_.server);
      if (!target) co_return;  // checked by the command line
      if (target->port) port = *target->port;
      HostAddresses resolved = co_await resolve_host(resolver_, *target);
      hosts.push_back(std::move(resolved));
    }
    std::size_t left = 0;
    for (const auto& h : hosts) left += std::max<std::size_t>(1, h.addresses.size());
    for (const auto& h : hosts) {
      if (h.addresses.empty()) {
        --left;
        HostProbe probe;
        probe.host = h.name;
        probe.port = port;
        ProbeStep s = no_address_step(h);
        info(s.summary);
        append_steps(probe, {s});
        report_.hosts.push_back(std::move(probe));
        continue;
      }
      for (const auto& address : h.addresses) {
        HostProbe probe;
        probe.host = h.name;
        probe.address = address.to_string();
        probe.port = port;
        net::ClientEndpoint where;
        where.tcp = asio::ip::tcp::endpoint(address, port);
        where.server_name = h.name;
        info("trying " + endpoint_text(h.name, probe.address, port));
        Outcome outcome = co_await attempt(where, probe);
        report_.hosts.push_back(std::move(probe));
        --left;
        if (outcome != Outcome::Transient) co_return;
        if (left > 0) info(next_host_line(report_.hosts.back()));
      }
    }
  }

 private:
  static dns::ResolverOptions dns(const SendOptions& o) {
    dns::ResolverOptions r;
    r.servers = o.dns_servers;
    r.timeout_ms = 3000;
    return r;
  }

  static std::string dns_step_line(const std::string& domain, const ProbeStep& s) {
    return fmt::format("{} {}: {}", verdict_name(s.verdict), domain, s.summary);
  }

  static ProbeStep no_address_step(const HostAddresses& h) {
    ProbeStep s;
    s.step = Step::Dns;
    s.verdict = Verdict::Fail;
    s.summary = fmt::format("{} has no address ({})", h.name, dns::to_string(h.status));
    s.causes = causes_for_network(Step::Dns, NetworkFailure::HostNotFound);
    return s;
  }

  static std::string next_host_line(const HostProbe& probe) {
    std::string why = probe.failed_at ? std::string(step_name(*probe.failed_at)) : "no answer";
    return fmt::format("{}: failed at {}; trying the next host",
                       endpoint_text(probe.host, probe.address, probe.port), why);
  }

  void info(const std::string& text) {
    line(net::TranscriptLine{net::TranscriptLine::Direction::Info, text});
  }

  void line(const net::TranscriptLine& l) {
    std::string text = fmt::format("{}{}", prefix_of(l.direction), printable(l.text));
    if (live_) *live_ << text << std::endl;
    report_.transcript.push_back(std::move(text));
  }

  asio::awaitable<Outcome> attempt(const net::ClientEndpoint& where, HostProbe& probe) {
    Transcript transcript;
    SessionPlan plan = plan_session(o_, 0);
    net::SmtpClientOptions options = send_client_options(o_, tls_.get(), plan);
    options.transcript = [this, &transcript](const net::TranscriptLine& l) {
      transcript.add(l);
      line(l);
    };
    net::SmtpClient client(io_.get_executor(), std::move(options));
    SessionResult result = co_await run_session(client, where, o_, plan);
    probe.tls = client.tls();
    std::vector<ProbeStep> steps = steps_from_transcript(transcript, result.failure());
    add_result_steps(steps, result);
    warn_inspection(transcript);
    append_steps(probe, steps);
    report_.recipients = result.recipients;
    co_return judge(probe, result);
  }

  // Seed 004: a PIX/ASA between us and the server rewrites the dialogue; say so, or the
  // administrator blames the server.
  void warn_inspection(const Transcript& transcript) {
    std::optional<std::string> signs = inspection_signs(transcript);
    if (signs) info("WARN SMTP inspection suspected: " + *signs);
  }

  Outcome judge(const HostProbe& probe, const SessionResult& result) {
    std::optional<ProbeStep> failed = first_failure(probe.steps);
    if (failed) {
      report_.failure = failed;
      if (permanent(*failed)) return Outcome::Permanent;
      if (failed->step == Step::Certificate) return Outcome::Permanent;
      return Outcome::Transient;
    }
    report_.failure.reset();
    if (o_.quit_after && *o_.quit_after != QuitAfter::Data) return Outcome::Stopped;
    report_.accepted = result.accepted;
    return result.accepted ? Outcome::Accepted : Outcome::Transient;
  }

  asio::io_context& io_;
  const SendOptions& o_;
  SendReport& report_;
  std::ostream* live_;
  dns::Resolver resolver_;
  std::unique_ptr<asio::ssl::context> tls_;
};

}  // namespace

SendReport run_send(const SendOptions& options, std::ostream* live) {
  asio::io_context io;
  SendReport report;
  for (const auto& to : options.to) report.recipients.push_back({to, std::nullopt});
  {
    Sender sender(io, options, report, live);
    asio::co_spawn(io, sender.run(), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.run();
  }
  if (report.failure) {
    report.exit_code = exit_code_for(report.failure->step);
  } else if (!report.dns.empty() && report.dns.front().verdict == Verdict::Fail) {
    report.failure = report.dns.front();
    report.exit_code = exit_code_for(Step::Dns);
  } else if (report.hosts.empty()) {
    report.exit_code = exit_code_for(Step::Connect);
  } else {
    report.exit_code = 0;
  }
  return report;
}

}  // namespace mailroom::client
