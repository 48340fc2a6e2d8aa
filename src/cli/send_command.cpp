// `mailroom send`: the command line of client/send.hpp — options checked here (one line naming
// the option, exit 2), the message built by client/message_builder, the transcript on stdout.
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/commands.hpp"
#include "client/host_target.hpp"
#include "client/message_builder.hpp"
#include "client/send.hpp"
#include "client/terminal.hpp"
#include "smtp/client_commands.hpp"
#include "util/ascii.hpp"
#include "util/rfc5322_date.hpp"

namespace mailroom::cli {
namespace {

[[noreturn]] void usage_error(const std::string& what) {
  std::cerr << "mailroom send: " << what << "\n";
  throw CLI::RuntimeError(2);
}

struct SendArgs {
  std::string server, socket, from = "\x01", ehlo, subject, body, data, tls_mode;
  bool has_subject = false;
  std::vector<std::string> to, headers, attach, attach_type, dns;
  std::optional<std::uint16_t> port;
  bool tls = false, tls_on_connect = false, tls_verify = false;
  std::string ca_file, auth, user, password, token;
  bool pipeline = false, bdat = false, lmtp = false, orcpt = false, smtputf8 = false;
  std::string notify, ret, envid, quit_after;
  unsigned timeout_s = 30;
  bool show_time = false, json = false, dump_mail = false;
  std::size_t count = 1, parallel = 1;
};

std::string local_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}

std::string read_all(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// swaks's From-File arguments: "-" is stdin, "@path" a file, "@@x" the text "@x".
std::string text_or_file(const std::string& option, const std::string& value) {
  static std::optional<std::string> stdin_text;
  if (value == "-") {
    if (!stdin_text) stdin_text = read_all(std::cin);
    return *stdin_text;
  }
  if (value.rfind("@@", 0) == 0) return value.substr(1);
  if (value.rfind("@", 0) == 0) {
    std::ifstream file(value.substr(1), std::ios::binary);
    if (!file) usage_error(fmt::format("{}: cannot read {}", option, value.substr(1)));
    return read_all(file);
  }
  return value;
}

std::string file_contents(const std::string& option, const std::string& path) {
  if (path == "-") return text_or_file(option, "-");
  std::ifstream file(path.rfind("@", 0) == 0 ? path.substr(1) : path, std::ios::binary);
  if (!file) usage_error(fmt::format("{}: cannot read {}", option, path));
  return read_all(file);
}

unsigned parse_notify(const std::string& text) {
  unsigned bits = 0;
  std::stringstream list(text);
  std::string item;
  while (std::getline(list, item, ',')) {
    std::string word = util::to_ascii_upper(item);
    if (word == "NEVER") {
      bits |= smtp::kNotifyNever;
    } else if (word == "SUCCESS") {
      bits |= smtp::kNotifySuccess;
    } else if (word == "FAILURE") {
      bits |= smtp::kNotifyFailure;
    } else if (word == "DELAY") {
      bits |= smtp::kNotifyDelay;
    } else {
      usage_error("--notify: expected NEVER or SUCCESS,FAILURE,DELAY, not \"" + item + "\"");
    }
  }
  if ((bits & smtp::kNotifyNever) && bits != smtp::kNotifyNever)
    usage_error("--notify: NEVER cannot be combined with other values (RFC 3461 4.1)");
  return bits;
}

std::vector<std::string> split_recipients(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  for (const auto& g : given) {
    std::stringstream list(g);
    std::string item;
    while (std::getline(list, item, ','))
      if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string bare_address(std::string a) {
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
  return a;
}

client::SendOptions options_from(SendArgs& a) {
  client::SendOptions o;
  if (!a.server.empty() && !a.socket.empty())
    usage_error("--server and --socket exclude each other");
  if (!a.server.empty() && !client::parse_host_port(a.server))
    usage_error("--server: expected HOST, HOST:PORT or [ADDRESS]:PORT, not \"" + a.server + "\"");
  o.server = a.server;
  o.port = a.port;
  o.socket = a.socket;
  o.dns_servers = a.dns;
  o.ehlo_name = a.ehlo.empty() ? local_hostname() : a.ehlo;
  if (!smtp::ehlo_command(o.ehlo_name).ok())
    usage_error("--ehlo: not a domain or address literal: \"" + o.ehlo_name + "\"");

  for (auto& t : split_recipients(a.to)) o.to.push_back(bare_address(t));
  for (const auto& t : o.to)
    if (!smtp::rcpt_command({t, 0, ""}).ok())
      usage_error("--to: not a valid address: \"" + t + "\"");
  if (a.from == "\x01") {
    const char* logname = std::getenv("LOGNAME");
    o.from = fmt::format("{}@{}", logname && *logname ? logname : "mailroom", o.ehlo_name);
  } else {
    o.from = a.from == "<>" ? "" : bare_address(a.from);
  }
  smtp::MailParams sender;
  sender.sender = o.from;
  if (!smtp::mail_command(sender).ok())
    usage_error("--from: not a valid address: \"" + a.from + "\"");

  if (!a.quit_after.empty()) {
    o.quit_after = client::parse_quit_after(a.quit_after);
    if (!o.quit_after)
      usage_error("--quit-after: expected connect, ehlo, tls, auth, mail, rcpt or data, not \"" +
                  a.quit_after + "\"");
  }
  const bool needs_recipient = !o.quit_after || *o.quit_after == client::QuitAfter::Rcpt ||
                               *o.quit_after == client::QuitAfter::Data;
  if (o.to.empty() && (needs_recipient || (a.server.empty() && a.socket.empty())))
    usage_error("--to: at least one recipient is needed");

  if (a.tls && a.tls_on_connect) usage_error("--tls and --tls-on-connect exclude each other");
  if (a.tls) o.tls = client::SendOptions::Tls::StartTls;
  if (a.tls_on_connect) o.tls = client::SendOptions::Tls::OnConnect;
  if (a.tls_verify && !a.tls && !a.tls_on_connect)
    usage_error("--tls-verify: needs --tls or --tls-on-connect");
  o.tls_verify = a.tls_verify;
  o.ca_file = a.ca_file;

  std::string mechanism = util::to_ascii_upper(a.auth);
  if (!a.token.empty() && mechanism.empty()) mechanism = "XOAUTH2";
  if (!mechanism.empty() && mechanism != "PLAIN" && mechanism != "LOGIN" && mechanism != "XOAUTH2")
    usage_error("--auth: expected PLAIN, LOGIN or XOAUTH2, not \"" + a.auth + "\"");
  if (!a.password.empty() && a.user.empty()) usage_error("--password: needs --user");
  if (!mechanism.empty() || !a.user.empty()) {
    if (a.user.empty()) usage_error("--user: needed with --auth");
    smtp::ClientCredentials c;
    c.username = a.user;
    c.mechanism = mechanism == "" ? "" : mechanism;
    if (mechanism == "XOAUTH2") {
      if (a.token.empty()) usage_error("--token: needed with --auth XOAUTH2");
      c.oauth2_token = a.token;
    } else {
      if (a.password.empty()) {
        auto typed = client::read_secret(fmt::format("Password for {}: ", a.user));
        if (!typed) usage_error("--password: missing, and no terminal to ask on");
        a.password = *typed;
      }
      c.password = a.password;
    }
    o.credentials = c;
  }

  o.pipeline = a.pipeline;
  o.bdat = a.bdat;
  o.lmtp = a.lmtp;
  if (!a.notify.empty()) o.notify = parse_notify(a.notify);
  if (!a.ret.empty()) {
    o.ret = util::to_ascii_upper(a.ret);
    if (o.ret != "FULL" && o.ret != "HDRS") usage_error("--ret: expected FULL or HDRS");
  }
  o.envid = a.envid;
  if (!a.envid.empty()) {
    smtp::MailParams p;
    p.envid = a.envid;
    if (!smtp::mail_command(p).ok()) usage_error("--envid: not printable ASCII or too long");
  }
  o.orcpt = a.orcpt;
  o.smtputf8 = a.smtputf8;
  o.timeout = std::chrono::seconds(a.timeout_s);
  o.show_time = a.show_time;
  o.count = a.count;
  o.parallel = a.parallel;
  if (o.count > 1 && o.quit_after) usage_error("--quit-after: not with --count");

  // The message.
  if (!a.data.empty() &&
      (!a.body.empty() || !a.attach.empty() || a.has_subject || !a.headers.empty()))
    usage_error("--data: a whole message; --body, --attach, --subject and --header build one");
  if (a.attach_type.size() > a.attach.size())
    usage_error("--attach-type: one per --attach, in the same order");
  if (!a.data.empty()) {
    client::BuiltMessage raw = client::raw_message(text_or_file("--data", a.data));
    o.message = [raw](std::size_t) { return raw; };
    return o;
  }
  client::MessageSpec spec;
  spec.from = o.from.empty() ? "<>" : o.from;
  spec.to = o.to;
  if (a.has_subject) spec.subject = a.subject;
  if (!a.body.empty()) spec.body = text_or_file("--body", a.body);
  for (const auto& h : a.headers) {
    auto field = client::parse_header_field(h);
    if (!field) usage_error("--header: expected \"Name: value\" on one line, not \"" + h + "\"");
    spec.headers.push_back(*field);
  }
  for (std::size_t i = 0; i < a.attach.size(); ++i) {
    client::Attachment att;
    const std::string& path = a.attach[i];
    if (path != "-") att.name = path.substr(path.find_last_of('/') + 1);
    if (!att.name.empty() && att.name.front() == '@') att.name.erase(0, 1);
    att.content_type = i < a.attach_type.size() ? a.attach_type[i] : "";
    att.bytes = file_contents("--attach", path);
    spec.attachments.push_back(std::move(att));
  }
  spec.date = util::rfc5322_now();
  spec.mailer = "mailroom send";
  const std::string stamp = fmt::format("{}.{}", std::time(nullptr), ::getpid());
  spec.boundary = "----=_mailroom_" + stamp;
  const std::string host = o.ehlo_name;
  o.message = [spec, stamp, host](std::size_t index) mutable {
    spec.message_id = fmt::format("{}.{}@{}", stamp, index, host);
    return client::build_message(spec);
  };
  return o;
}

void show_progress(std::size_t done, std::size_t accepted, std::size_t failed, double elapsed,
                   std::size_t total) {
  const double rate = elapsed > 0 ? static_cast<double>(accepted) / elapsed : 0;
  const unsigned width = 30;
  const auto filled = total ? static_cast<unsigned>(width * done / total) : width;
  std::cerr << fmt::format("\r[{}{}] {}/{} sent, {} accepted, {} failed, {:.0f} msg/s  ",
                           std::string(filled, '#'), std::string(width - filled, '.'), done, total,
                           accepted, failed, rate)
            << std::flush;
}

}  // namespace

void add_send(CLI::App& app) {
  auto* send = app.add_subcommand(
      "send", "Send a test message the way swaks does, showing the dialogue (or a load of them)");
  static SendArgs a;
  send->add_option("--server,-s", a.server,
                   "HOST[:PORT] or [ADDRESS]:PORT (default: the MX hosts of the last recipient's "
                   "domain, each tried in order until one accepts)");
  send->add_option("--port,-p", a.port,
                   "port (default 25; 24 with --lmtp, 465 with --tls-on-connect)")
      ->check(CLI::Range(1, 65535));
  send->add_option("--socket", a.socket, "a UNIX socket to connect to instead (LMTP)");
  send->add_option("--dns", a.dns,
                   "DNS server IP[:PORT] for the MX lookup (default: /etc/resolv.conf)")
      ->allow_extra_args(false);
  send->add_option("--from,-f", a.from,
                   "envelope sender (\"<>\": the null sender; default $LOGNAME@ehlo name)");
  send->add_option("--to,-t", a.to, "recipient (repeatable, or comma-separated)")
      ->allow_extra_args(false);
  send->add_option("--ehlo", a.ehlo, "name to give with EHLO/LHLO (default: this host's name)");
  send->add_option(
          "--header", a.headers,
          "\"Name: value\": replaces that field of the default message, or adds it (repeatable)")
      ->allow_extra_args(false);
  send->add_option("--subject", a.subject, "the Subject (UTF-8 is encoded per RFC 2047)")
      ->each([](const std::string&) { a.has_subject = true; });
  send->add_option("--body", a.body, "the body: TEXT, @FILE, or - for stdin");
  send->add_option("--data", a.data, "the whole message as it is: TEXT, @FILE, or - for stdin");
  send->add_option("--attach", a.attach, "attach a file (repeatable; - for stdin): a MIME message")
      ->allow_extra_args(false);
  send->add_option("--attach-type", a.attach_type,
                   "MIME type of the attachment in the same position")
      ->allow_extra_args(false);
  send->add_flag("--tls", a.tls, "STARTTLS, required (fail if not offered or refused)");
  send->add_flag("--tls-on-connect", a.tls_on_connect, "TLS from the first byte (port 465)");
  send->add_flag("--tls-verify", a.tls_verify, "the certificate must be trusted and name the host");
  send->add_option("--ca-file", a.ca_file, "extra trusted CA certificates (PEM)");
  send->add_option("--auth", a.auth, "AUTH mechanism: PLAIN, LOGIN or XOAUTH2");
  send->add_option("--user", a.user, "AUTH user name");
  send->add_option("--password", a.password, "AUTH password (asked on the terminal when missing)");
  send->add_option("--token", a.token, "OAuth 2 bearer token (XOAUTH2)");
  send->add_flag("--pipeline", a.pipeline, "use PIPELINING when offered (RFC 2920)");
  send->add_flag("--bdat", a.bdat, "use BDAT (CHUNKING) when offered (RFC 3030)");
  send->add_flag("--lmtp", a.lmtp, "speak LMTP (LHLO, one reply per recipient after the data)");
  send->add_option("--notify", a.notify, "DSN NOTIFY: NEVER or SUCCESS,FAILURE,DELAY (RFC 3461)");
  send->add_option("--ret", a.ret, "DSN RET: FULL or HDRS");
  send->add_option("--envid", a.envid, "DSN ENVID");
  send->add_flag("--orcpt", a.orcpt, "DSN ORCPT=rfc822;<recipient> on every RCPT");
  send->add_flag("--smtputf8", a.smtputf8,
                 "ask for SMTPUTF8 (implied by a non-ASCII address or raw UTF-8 header)");
  send->add_option("--quit-after", a.quit_after,
                   "stop after: connect (banner), ehlo, tls, auth, mail, rcpt, data");
  send->add_option("--timeout", a.timeout_s, "seconds per step (default 30)")
      ->check(CLI::Range(1, 3600));
  send->add_flag("--show-time", a.show_time, "print each step's latency at the end");
  send->add_option("--count", a.count, "send N messages (load generator)")
      ->check(CLI::Range(1, 100000000));
  send->add_option("--parallel", a.parallel, "over C connections at once, each reused (default 1)")
      ->check(CLI::Range(1, 10000));
  send->add_flag("--json", a.json, "one JSON document (the report, or the load summary)");
  send->add_flag("--dump-mail", a.dump_mail, "print the message that would be sent, send nothing");
  send->footer(client::send_exit_code_table());
  send->callback([] {
    client::SendOptions o = options_from(a);
    if (a.dump_mail) {
      std::cout << o.message(0).bytes;
      return;
    }
    if (o.count > 1) {
      const bool tty = ::isatty(STDERR_FILENO) == 1;
      const std::size_t total = o.count;
      std::function<void(std::size_t, std::size_t, std::size_t, double)> progress;
      if (tty)
        progress = [total](std::size_t done, std::size_t ok, std::size_t failed, double s) {
          show_progress(done, ok, failed, s, total);
        };
      client::LoadReport report;
      try {
        report = client::run_load(o, progress);
      } catch (const std::exception& e) {
        usage_error(e.what());
      }
      if (tty) std::cerr << "\n";
      std::cout << (a.json ? client::render_load_json(report) : client::render_load_text(report));
      if (report.exit_code != 0) throw CLI::RuntimeError(report.exit_code);
      return;
    }
    client::SendReport report;
    try {
      report = client::run_send(o, a.json ? nullptr : &std::cout);
    } catch (const std::exception& e) {
      usage_error(e.what());
    }
    std::cout << (a.json ? client::render_send_json(report)
                         : client::render_send_end(report, o.show_time));
    if (report.exit_code != 0) throw CLI::RuntimeError(report.exit_code);
  });
}

}  // namespace mailroom::cli
