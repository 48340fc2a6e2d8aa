// `mailroom mx` and `mailroom probe` (send and shell: send_command.cpp, shell_command.cpp): the
// tester's views over the resolver and the SMTP client (src/client/). Output on stdout, one-line
// errors on stderr, exit status per command.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "client/mx_report.hpp"
#include "client/probe.hpp"
#include "dns/resolver.hpp"

namespace mailroom::cli {
namespace {

[[noreturn]] void usage_error(const std::string& what) {
  std::cerr << "mailroom: " << what << "\n";
  throw CLI::RuntimeError(2);
}

void add_mx(CLI::App& app) {
  auto* mx = app.add_subcommand("mx", "Look up a domain's mail hosts (MX, addresses, PTR)");
  static std::string domain;
  static std::vector<std::string> dns_servers;
  static bool json = false;
  mx->add_option("domain", domain, "the domain")->required();
  mx->add_option("--dns", dns_servers, "DNS server IP[:PORT] (default: /etc/resolv.conf)")
      ->allow_extra_args(false);
  mx->add_flag("--json", json, "one JSON document instead of text");
  mx->footer(
      "Exit status: 0 the domain has a mail host with an address; 1 it takes no mail (null MX, "
      "NXDOMAIN, no address); 2 bad arguments; 3 a temporary DNS failure.");
  mx->callback([] {
    dns::ResolverOptions options;
    options.servers = dns_servers;
    asio::io_context io;
    std::optional<client::MxReport> report;
    try {
      auto resolver = std::make_unique<dns::Resolver>(io.get_executor(), options);
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            report = co_await client::lookup_mx_report(*resolver, domain);
          },
          asio::detached);
      io.run();
    } catch (const std::exception& e) {
      usage_error(e.what());
    }
    if (!report) usage_error("lookup did not complete");
    std::cout << (json ? client::render_json(*report) : client::render_text(*report));
    if (int rc = client::exit_status(*report); rc != 0) throw CLI::RuntimeError(rc);
  });
}

void add_probe(CLI::App& app) {
  auto* probe = app.add_subcommand(
      "probe", "Test an SMTP server step by step and explain what fails (the seeds' procedure)");
  static client::ProbeOptions o;
  static bool json = false, require_tls = false, no_tls = false;
  static unsigned timeout_s = 30;
  static std::string user, password;
  probe->add_option("target", o.target, "a domain (its MX hosts) or host[:port], [ip]:port")
      ->required();
  probe->add_option("--port", o.port, "port for MX hosts and hosts given without one")
      ->check(CLI::Range(1, 65535));
  probe->add_flag("--all-mx", o.all_mx, "probe every MX host, not only the preferred one");
  probe->add_option("--dns", o.dns_servers, "DNS server IP[:PORT] (default: /etc/resolv.conf)")
      ->allow_extra_args(false);
  probe->add_option("--ehlo", o.ehlo_name, "name to give with EHLO (default: this host's name)");
  probe->add_option("--from", o.from,
                    "MAIL FROM address (default: the --user address, else probe@<ehlo name>)");
  probe->add_option("--to", o.to, "RCPT TO address (repeatable; default: postmaster@<target>)")
      ->allow_extra_args(false);
  probe->add_flag("--send", o.send, "send a test message (DATA) instead of RSET after RCPT");
  probe->add_flag("--tls", require_tls, "STARTTLS is required (fail if not offered)");
  probe->add_flag("--no-tls", no_tls, "do not use STARTTLS");
  probe->add_flag("--tls-on-connect", o.tls_on_connect, "TLS from the first byte (port 465)");
  probe->add_option("--ca-file", o.ca_file, "extra trusted CA certificates (PEM)");
  probe->add_option("--user", user, "AUTH as this user (PLAIN, or LOGIN)");
  probe->add_option("--password", password, "password for --user");
  probe->add_flag("--relay-test", o.relay_test,
                  "try an outside recipient; an open relay fails (nothing is ever sent)");
  probe->add_flag("--security", o.security,
                  "test STARTTLS injection and SMTP-smuggling end-of-data look-alikes");
  probe->add_option("--timeout", timeout_s, "seconds per step (default 30)")
      ->check(CLI::Range(1, 3600));
  probe->add_flag("--json", json, "one JSON document instead of text");
  probe->footer(client::exit_code_table());
  probe->callback([] {
    if (require_tls && no_tls) usage_error("--tls and --no-tls exclude each other");
    if (!password.empty() && user.empty()) usage_error("--password needs --user");
    o.tls = require_tls ? client::ProbeOptions::Tls::Require
            : no_tls    ? client::ProbeOptions::Tls::None
                        : client::ProbeOptions::Tls::Auto;
    if (!user.empty()) {
      o.user = user;
      o.password = password;
    }
    o.timeout = std::chrono::seconds(timeout_s);
    client::ProbeReport report;
    try {
      report = client::run_probe(o);
    } catch (const std::exception& e) {
      usage_error(e.what());
    }
    std::cout << (json ? client::render_json(report) : client::render_text(report));
    if (report.exit_code != 0) throw CLI::RuntimeError(report.exit_code);
  });
}

}  // namespace

void add_client_commands(CLI::App& app) {
  add_mx(app);
  add_probe(app);
  add_send(app);
  add_shell(app);
}

}  // namespace mailroom::cli
