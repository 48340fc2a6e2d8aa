// client/probe: `mailroom probe TARGET` — the seed documents' telnet procedure, automated and
// explained: find the MX (nslookup), connect, read the banner, EHLO (HELO if refused), read the
// capabilities, STARTTLS with a certificate report, AUTH when credentials are given, MAIL, RCPT,
// then RSET — or DATA of a test message with --send — and QUIT. One line per step: OK, WARN or
// FAIL, the server's reply, the time it took; every failure names its likely causes
// (diagnosis.hpp), as the seeds' "possible reasons for failure" do.
//
// It also checks the banner's host name against the PTR of the address it connected to, notices
// an SMTP-inspecting firewall (seed 004), tries an outside recipient with --relay-test (an open
// relay is a FAIL; nothing is ever sent: MAIL, RCPT, RSET), and with --security tests the server
// for STARTTLS command injection (CVE-2011-0411) and for SMTP-smuggling end-of-data look-alikes
// (CVE-2023-51764) — the look-alike is followed by a NOOP, never by a second message.
//
// The SMTP client is the delivery path's own (net/smtp_client.hpp), driven step by step without
// PIPELINING so each reply is timed; the resolver is dns/.
// Exit status (also in `mailroom probe --help` and the README): the first failed step decides.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/diagnosis.hpp"
#include "net/tls_client.hpp"

namespace mailroom::client {

struct ProbeOptions {
  std::string target;                    // "example.org" (MX lookup) or "host[:port]" / "[ip]:port"
  std::uint16_t port = 25;               // for a domain's MX hosts and a host without a port
  bool all_mx = false;                   // probe every MX host, not only the preferred one
  std::vector<std::string> dns_servers;  // empty: /etc/resolv.conf
  std::string ehlo_name;                 // default: this machine's host name
  std::string from;             // MAIL FROM; default --user when an address, else probe@<ehlo name>
  std::vector<std::string> to;  // RCPT TO; default postmaster@<domain or host>
  bool send = false;            // DATA a test message instead of RSET
  enum class Tls { Auto, Require, None } tls = Tls::Auto;
  bool tls_on_connect = false;  // implicit TLS (port 465)
  std::string ca_file;          // extra trust anchors for the certificate check
  std::optional<std::string> user;
  std::optional<std::string> password;
  bool relay_test = false;
  std::string relay_recipient = "relay-test@mailroom-probe.invalid";
  bool security = false;
  std::chrono::seconds timeout{30};  // per step
};

enum class Verdict { Ok, Warn, Fail, Skipped };
std::string_view verdict_name(Verdict v);  // "OK", "WARN", "FAIL", "SKIP"

struct ProbeStep {
  Step step = Step::Connect;
  Verdict verdict = Verdict::Ok;
  std::string summary;              // the reply's first line, or what happened
  std::vector<std::string> reply;   // the reply's lines as received
  std::optional<double> ms;         // how long the step took
  std::vector<std::string> causes;  // likely causes, for WARN and FAIL
  std::string meaning;              // the reply code in words
};

struct HostProbe {
  std::string host;     // name as probed
  std::string address;  // "192.0.2.1" (empty when the connection never happened)
  std::uint16_t port = 25;
  std::vector<ProbeStep> steps;
  std::optional<net::TlsPeerReport> tls;
  std::optional<Step> failed_at;
};

struct ProbeReport {
  std::string target;
  std::vector<ProbeStep> dns;  // the MX / address lookup
  std::vector<HostProbe> hosts;
  int exit_code = 0;
};

// Runs the whole probe (blocking; its own event loop). Never throws for network or DNS trouble:
// that is the report.
ProbeReport run_probe(const ProbeOptions& options);

std::string render_text(const ProbeReport& report);
std::string render_json(const ProbeReport& report);
// One step as the text report shows it: "  FAIL  RCPT TO      550 5.1.1 ...  (0.4 ms)", then its
// meaning and likely causes for WARN and FAIL. `send` prints its failures the same way.
std::string render_step(const ProbeStep& step);
// "certificate: subject ...; issuer ...; valid ... to ...; names ...; verified or not".
std::string certificate_line(const net::TlsPeerReport& tls);

// The exit status of the first failed step: 0 all passed, 3 DNS, 4 connect, 5 banner, 6 EHLO/
// HELO, 7 STARTTLS/TLS, 8 AUTH, 9 MAIL, 10 RCPT, 11 DATA, 12 open relay, 13 security, 14 RSET/
// QUIT. (2 is a usage error, from the command line.)
int exit_code_for(Step step);
std::string exit_code_table();

}  // namespace mailroom::client
