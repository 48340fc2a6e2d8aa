// client/send: `mailroom send` — a swaks-class sender over the delivery path's own SMTP client
// (net/smtp_client.hpp), one transaction per message, never a second SMTP implementation.
//
// One message: connect to --server (each of its addresses in turn) or, without it, to the MX
// hosts of the last recipient's domain in preference order, moving to the next host on a
// connection failure, a timeout or a 4xx, and stopping at the first host that accepts or refuses
// permanently (5xx is the same answer from every MX). The transcript goes out as it happens:
// "-> " what was sent (AUTH secrets masked by the engine), "<- " what came back, "** " events;
// the end is one verdict line (OK, or FAIL with the step, the reply and its likely causes, as the
// probe prints them) and the exit status of the first failed step (client::exit_code_for, the
// probe's table). --quit-after stops after a step (MAIL and RCPT send no DATA: envelope_only).
//
// Load (--count N --parallel C): N messages over C connections, each connection reused for the
// next message (RSET only when needed), reopened when it fails; a progress line on stderr when
// it is a terminal, then a summary: messages/s, latency percentiles, replies by code.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "client/message_builder.hpp"
#include "client/probe.hpp"
#include "smtp/client_events.hpp"

namespace mailroom::client {

enum class QuitAfter { Connect, Ehlo, Tls, Auth, Mail, Rcpt, Data };
// "connect"/"banner", "ehlo"/"helo"/"lhlo", "tls"/"starttls", "auth", "mail"/"from",
// "rcpt"/"to", "data"/"dot"; nullopt otherwise (case-insensitive).
std::optional<QuitAfter> parse_quit_after(std::string_view text);

struct SendOptions {
  std::string server;                 // "host[:port]", "[ip]:port"; "" -> MX of the recipient
  std::optional<std::uint16_t> port;  // default 25; 24 with LMTP, 465 with TLS on connect
  std::string socket;                 // a UNIX socket instead (LMTP to a local MDA)
  std::vector<std::string> dns_servers;
  std::string from;  // envelope sender; "" is the null sender
  std::vector<std::string> to;
  std::string ehlo_name;
  enum class Tls { None, StartTls, OnConnect } tls = Tls::None;
  bool tls_verify = false;  // the certificate's chain and name must check out
  std::string ca_file;
  std::optional<smtp::ClientCredentials> credentials;  // with `mechanism` set by --auth
  bool pipeline = false;
  bool bdat = false;
  bool lmtp = false;
  unsigned notify = 0;  // smtp::kNotify* bits for every recipient
  std::string ret;      // RFC 3461 RET
  std::string envid;
  bool orcpt = false;     // ORCPT=rfc822;<recipient>
  bool smtputf8 = false;  // ask for SMTPUTF8 even when nothing needs it
  std::optional<QuitAfter> quit_after;
  std::chrono::seconds timeout{30};  // per step
  bool show_time = false;
  // The message to send as the `index`th (0 for a single message): each gets its own Message-Id.
  std::function<BuiltMessage(std::size_t index)> message;
  // Load mode.
  std::size_t count = 1;
  std::size_t parallel = 1;
};

// What one message's sending came to.
struct SendReport {
  std::vector<ProbeStep> dns;           // the MX or address lookup
  std::vector<HostProbe> hosts;         // each connection attempt, in order, with its steps
  std::vector<std::string> transcript;  // "-> ...", "<- ...", "** ..." for every attempt
  struct Recipient {
    std::string address;
    std::optional<smtp::RecipientResult> result;
  };
  std::vector<Recipient> recipients;
  bool accepted = false;  // every recipient got a 2xx at the end (or at RCPT with --quit-after)
  std::optional<ProbeStep> failure;  // the first failed step, as shown on the FAIL line
  int exit_code = 0;
};

// Sends one message (blocking; its own event loop). Each transcript line goes to `live` as it
// happens when given (text mode); the report has everything either way.
SendReport run_send(const SendOptions& options, std::ostream* live);
// The closing lines of text mode: verdict, with --show-time each step's latency.
std::string render_send_end(const SendReport& report, bool show_time);
std::string render_send_json(const SendReport& report);

struct LoadReport {
  std::size_t messages = 0;
  std::size_t accepted = 0;
  std::size_t failed = 0;
  std::size_t connections = 0;  // opened (successfully or not)
  double elapsed_s = 0;
  std::vector<double> latencies_ms;            // accepted messages: first command to final reply
  std::map<std::string, std::size_t> replies;  // "250 2.0.0" or "connect: Connection refused"
  std::optional<ProbeStep> first_failure;
  int exit_code = 0;
};

// Sends options.count messages over options.parallel connections. `progress` is called about
// five times a second and at the end with (done, accepted, failed, elapsed seconds).
LoadReport run_load(
    const SendOptions& options,
    const std::function<void(std::size_t, std::size_t, std::size_t, double)>& progress);
std::string render_load_text(const LoadReport& report);
std::string render_load_json(const LoadReport& report);
// p in [0, 100] of sorted values (nearest rank); 0 for none.
double percentile(std::vector<double> values, double p);

// "Exit status: 0 sent; 2 bad arguments; 3 DNS; ..." for --help and the README.
std::string send_exit_code_table();

}  // namespace mailroom::client
