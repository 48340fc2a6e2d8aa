// The probe's network flow: DNS, one SMTP session per host reconstructed into steps from the
// client's transcript, the relay test and the security checks. See probe.hpp.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "client/probe.hpp"
#include "client/probe_security.hpp"
#include "client/probe_steps.hpp"
#include "client/reply_meaning.hpp"
#include "dns/resolver.hpp"
#include "net/smtp_client.hpp"
#include "util/ascii.hpp"

namespace mailroom::client {
namespace {

using Clock = std::chrono::steady_clock;

struct Target {
  std::string host;
  std::optional<asio::ip::address> literal;
  std::optional<std::uint16_t> port;
  bool domain = false;  // look up its MX
};

Target parse_target(const std::string& text) {
  Target t;
  std::string host = text;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    std::string rest = close == std::string::npos ? "" : host.substr(close + 1);
    host = close == std::string::npos ? host.substr(1) : host.substr(1, close - 1);
    if (rest.size() > 1 && rest.front() == ':')
      t.port = static_cast<std::uint16_t>(std::stoul(rest.substr(1)));
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    auto colon = host.find(':');
    t.port = static_cast<std::uint16_t>(std::stoul(host.substr(colon + 1)));
    host = host.substr(0, colon);
  }
  std::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) t.literal = address;
  t.host = host;
  t.domain = !t.literal && !t.port;
  return t;
}

std::string local_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}

void insert_after_banner(std::vector<ProbeStep>& steps, ProbeStep step) {
  auto banner = std::find_if(steps.begin(), steps.end(),
                             [](const ProbeStep& s) { return s.step == Step::Banner; });
  steps.insert(banner == steps.end() ? steps.end() : banner + 1, std::move(step));
}

struct HostTarget {
  std::string name;
  std::vector<asio::ip::address> addresses;
  dns::Status status = dns::Status::Ok;
};

class Prober {
 public:
  Prober(asio::io_context& io, const ProbeOptions& o, ProbeReport& report)
      : io_(io), o_(o), report_(report), resolver_(io.get_executor(), resolver_options(o)) {
    net::ClientTlsOptions tls;
    tls.ca_file = o.ca_file;
    tls_ = net::make_client_tls_context(tls);
    ehlo_ = o.ehlo_name.empty() ? local_hostname() : o.ehlo_name;
  }

  asio::awaitable<void> run() {
    auto target = parse_target(o_.target);
    std::vector<HostTarget> hosts = co_await find_hosts(target);
    const std::uint16_t port = target.port.value_or(o_.port);
    domain_ = target.host;
    for (auto& h : hosts) {
      HostProbe probe;
      probe.host = h.name;
      probe.port = port;
      if (h.addresses.empty()) {
        ProbeStep s;
        s.step = Step::Dns;
        s.verdict = Verdict::Fail;
        s.summary = fmt::format("{} has no address ({})", h.name, dns::to_string(h.status));
        s.causes = causes_for_network(Step::Dns, NetworkFailure::HostNotFound);
        probe.steps.push_back(std::move(s));
        probe.failed_at = Step::Dns;
        report_.hosts.push_back(std::move(probe));
        continue;
      }
      probe.address = h.addresses.front().to_string();
      co_await probe_host(h, probe);
      if (o_.security) co_await security_checks(h, probe);
      report_.hosts.push_back(std::move(probe));
    }
  }

 private:
  static dns::ResolverOptions resolver_options(const ProbeOptions& o) {
    dns::ResolverOptions r;
    r.servers = o.dns_servers;
    r.timeout_ms = 3000;
    return r;
  }

  asio::awaitable<std::vector<HostTarget>> find_hosts(const Target& t) {
    std::vector<HostTarget> out;
    if (t.literal) {
      out.push_back({t.host, {*t.literal}, dns::Status::Ok});
      co_return out;
    }
    std::vector<std::string> names;
    if (t.domain) {
      dns::MxAnswer mx = co_await resolver_.mx(t.host);
      ProbeStep s;
      s.step = Step::Dns;
      if (mx.null_mx) {
        s.verdict = Verdict::Fail;
        s.summary = t.host + " publishes a null MX (RFC 7505): it accepts no mail";
      } else if (mx.status == dns::Status::Ok) {
        std::string list;
        for (const auto& r : mx.records) {
          if (r.exchange == ".") continue;
          list += fmt::format("{}{} {}", list.empty() ? "" : ", ", r.preference, r.exchange);
          names.push_back(r.exchange);
        }
        s.summary = "MX " + list;
      } else if (mx.status == dns::Status::NoData) {
        s.verdict = Verdict::Warn;
        s.summary = t.host + " has no MX records: its own address is the mail host (implicit MX)";
        names.push_back(t.host);
      } else {
        s.verdict = Verdict::Fail;
        s.summary = fmt::format("MX lookup for {} failed: {}", t.host, dns::to_string(mx.status));
        s.causes = mx_failure_causes(mx.status);
      }
      report_.dns.push_back(std::move(s));
      if (!o_.all_mx && names.size() > 1) names.resize(1);
    } else {
      names.push_back(t.host);
    }
    for (const auto& name : names) {
      dns::AddressAnswer a = co_await resolver_.addresses(name);
      out.push_back({name, a.addresses, a.status});
    }
    co_return out;
  }

  net::SmtpClientOptions client_options(Transcript& transcript, bool with_auth) const {
    net::SmtpClientOptions c;
    c.session.helo_name = ehlo_;
    c.session.pipelining = false;  // one reply at a time: each step is timed on its own
    c.session.implicit_tls = o_.tls_on_connect;
    c.session.tls = o_.tls == ProbeOptions::Tls::Require ? smtp::TlsPolicy::Required
                    : o_.tls == ProbeOptions::Tls::None  ? smtp::TlsPolicy::None
                                                         : smtp::TlsPolicy::Opportunistic;
    if (o_.tls_on_connect) c.session.tls = smtp::TlsPolicy::None;
    if (with_auth && o_.user) {
      smtp::ClientCredentials creds;
      creds.username = *o_.user;
      creds.password = o_.password.value_or("");
      c.session.credentials = creds;
    }
    c.tls_context = tls_.get();
    c.timeouts_s.fill(static_cast<std::uint32_t>(o_.timeout.count()));
    c.timeouts_s[static_cast<std::size_t>(smtp::ClientState::Ready)] = 0;
    c.timeouts_s[static_cast<std::size_t>(smtp::ClientState::Done)] = 0;
    c.timeouts_s[static_cast<std::size_t>(smtp::ClientState::Failed)] = 0;
    c.transcript = [&transcript](const net::TranscriptLine& line) { transcript.add(line); };
    return c;
  }

  static std::string test_message(const std::string& from, const std::string& to,
                                  const std::string& host) {
    return fmt::format(
        "From: <{}>\r\nTo: <{}>\r\nSubject: mailroom probe test message\r\n"
        "Message-ID: <probe.{}@{}>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is a test message sent by `mailroom probe` to check mail delivery.\r\n",
        from, to, ::getpid(), host);
  }

  asio::awaitable<void> probe_host(const HostTarget& h, HostProbe& probe) {
    Transcript transcript;
    auto client =
        std::make_shared<net::SmtpClient>(io_.get_executor(), client_options(transcript, true));
    net::ClientEndpoint where;
    where.tcp = asio::ip::tcp::endpoint(h.addresses.front(), probe.port);
    where.server_name = h.name;
    const bool ready = co_await client->open(where);
    probe.tls = client->tls();
    std::vector<ProbeStep> opened = steps_from_transcript(transcript, client->failure());
    // The PTR check belongs right after the banner it is about.
    std::optional<ProbeStep> ptr = co_await check_ptr(h, probe, client->banner());
    if (ptr) insert_after_banner(opened, std::move(*ptr));
    append_steps(probe, std::move(opened));
    if (auto signs = inspection_signs(transcript)) {
      ProbeStep s;
      s.step = Step::Banner;
      s.verdict = Verdict::Warn;
      s.summary = "SMTP inspection suspected";
      s.causes = {*signs};
      probe.steps.push_back(std::move(s));
    }
    if (!ready) co_return;

    const std::string from = sender();
    std::vector<std::string> to = o_.to;
    if (to.empty()) to.push_back(first_recipient(h));
    smtp::OutboundMessage m;
    m.sender = from;
    for (const auto& r : to) m.recipients.push_back({r, 0, ""});
    m.envelope_only = !o_.send;
    std::string body_text = test_message(from, to.front(), ehlo_);
    m.size = body_text.size();
    net::StringBodySource body(body_text);
    transcript.mark();
    auto delivery = co_await client->send(m, body);
    append_steps(probe, steps_from_transcript(transcript, client->failure()));
    (void)delivery;

    if (client->ready() && o_.relay_test) {
      smtp::OutboundMessage relay;
      relay.sender = from;
      relay.recipients.push_back({o_.relay_recipient, 0, ""});
      relay.envelope_only = true;
      if (!m.envelope_only) co_await client->rset();
      transcript.mark();
      auto r = co_await client->send(relay, body);
      auto steps = steps_from_transcript(transcript, client->failure());
      for (auto& s : steps) {
        if (s.step != Step::Rcpt) continue;
        s.step = Step::RelayTest;
        if (s.verdict == Verdict::Ok && o_.user) {
          s.summary =
              "accepted for this authenticated client, as relaying after AUTH may be: " + s.summary;
        } else if (s.verdict == Verdict::Ok) {
          s.verdict = Verdict::Fail;
          s.causes = {"OPEN RELAY: the server accepts mail for " + o_.relay_recipient +
                          ", a domain it is not responsible for, from an unauthenticated client",
                      "Check the connector's relay settings (relay = \"none\" for anonymous "
                      "listeners; relay_ranges only for trusted hosts)"};
        } else {
          s.verdict = Verdict::Ok;
          s.causes.clear();
          s.summary = "refused as it should be: " + s.summary;
        }
      }
      append_steps(probe, std::move(steps));
      (void)r;
    }
    if (client->ready()) {
      transcript.mark();
      co_await client->rset();
      co_await client->quit();
      append_steps(probe, steps_from_transcript(transcript, client->failure()));
    }
  }

  asio::awaitable<std::optional<ProbeStep>> check_ptr(
      const HostTarget& h, const HostProbe& probe,
      const std::optional<std::vector<std::string>>& banner) {
    std::optional<ProbeStep> none;
    if (!banner || banner->empty()) co_return none;
    const std::string name = banner_host(banner->front());
    if (name.empty()) co_return none;
    dns::PtrAnswer ptr = co_await resolver_.ptr(h.addresses.front());
    co_return ptr_step(name, probe.address, ptr);
  }

  // Plain functions for what the coroutine reports: GCC 12 mishandles class-type conditional
  // expressions in coroutine bodies.
  // Logged in with an address, the probe sends as it: a submission server that holds logins to
  // their own addresses (RFC 6409 8, Postfix's reject_sender_login_mismatch) refuses any other.
  std::string sender() const {
    if (!o_.from.empty()) return o_.from;
    if (o_.user && o_.user->find('@') != std::string::npos) return *o_.user;
    return "probe@" + ehlo_;
  }
  std::string first_recipient(const HostTarget& h) const {
    if (!o_.to.empty()) return o_.to.front();
    return "postmaster@" + (domain_.empty() ? h.name : domain_);
  }
  static std::vector<std::string> mx_failure_causes(dns::Status status) {
    if (status == dns::Status::NxDomain) return {"The domain does not exist (check the spelling)"};
    return {"The DNS server does not answer or fails (check --dns or /etc/resolv.conf)"};
  }

  static std::string banner_host(const std::string& line) {
    auto start = line.find_first_not_of("0123456789- ");
    if (start == std::string::npos) return "";
    return line.substr(start, line.find(' ', start) - start);
  }

  static ProbeStep ptr_step(const std::string& name, const std::string& address,
                            const dns::PtrAnswer& ptr) {
    ProbeStep s;
    s.step = Step::Banner;
    bool match = false;
    for (const auto& p : ptr.hosts) match = match || util::iequals(p, name);
    if (match) {
      s.summary = fmt::format("banner name {} matches the PTR of {}", name, address);
      return s;
    }
    s.verdict = Verdict::Warn;
    if (ptr.hosts.empty()) {
      s.summary = fmt::format("{} has no PTR record ({}); the banner says {}", address,
                              dns::to_string(ptr.status), name);
    } else {
      s.summary = fmt::format("the banner says {}, the PTR of {} says {}", name, address,
                              ptr.hosts.front());
    }
    s.causes = {
        "Receivers check that a sending host's name and PTR agree; a mismatch costs "
        "reputation when this host sends mail"};
    return s;
  }

  asio::awaitable<void> security_checks(const HostTarget& h, HostProbe& probe);

  asio::io_context& io_;
  const ProbeOptions& o_;
  ProbeReport& report_;
  dns::Resolver resolver_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::string ehlo_;
  std::string domain_;
};

asio::awaitable<void> Prober::security_checks(const HostTarget& h, HostProbe& probe) {
  net::ClientEndpoint where;
  where.tcp = asio::ip::tcp::endpoint(h.addresses.front(), probe.port);
  where.server_name = h.name;
  std::vector<ProbeStep> steps;
  {
    Transcript transcript;
    net::SmtpClient raw(io_.get_executor(), client_options(transcript, false));
    steps.push_back(co_await check_starttls_injection(raw, where, ehlo_));
    raw.close();
  }
  const std::string from = sender();
  const std::string to = first_recipient(h);
  struct Lookalike {
    std::string_view name, bytes;
  };
  for (const Lookalike& l : {Lookalike{"smuggling <LF>.<LF>", "\n.\n"},
                             Lookalike{"smuggling <CR><LF>.<LF>", "\r\n.\n"}}) {
    Transcript transcript;
    net::SmtpClient raw(io_.get_executor(), client_options(transcript, false));
    steps.push_back(co_await check_smuggling(raw, where, ehlo_, from, to, l.name, l.bytes));
    raw.close();
  }
  append_steps(probe, std::move(steps));
}

}  // namespace

ProbeReport run_probe(const ProbeOptions& options) {
  asio::io_context io;
  ProbeReport report;
  report.target = options.target;
  Prober prober(io, options, report);
  asio::co_spawn(io, prober.run(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  report.exit_code = 0;
  for (const auto& s : report.dns)
    if (s.verdict == Verdict::Fail) report.exit_code = exit_code_for(Step::Dns);
  for (const auto& h : report.hosts) {
    for (const auto& s : h.steps) {
      if (s.verdict != Verdict::Fail || report.exit_code != 0) continue;
      report.exit_code = exit_code_for(s.step);
    }
  }
  return report;
}

}  // namespace mailroom::client
