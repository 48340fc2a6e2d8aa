#include "client/shell.hpp"

#include <fmt/format.h>

#include "client/diagnosis.hpp"
#include "client/host_target.hpp"
#include "client/probe.hpp"
#include "client/probe_steps.hpp"
#include "client/reply_meaning.hpp"
#include "dns/resolver.hpp"
#include "net/smtp_client.hpp"
#include "smtp/auth.hpp"
#include "smtp/dot_stuffer.hpp"
#include "util/ascii.hpp"
#include "util/rfc5322_date.hpp"

namespace mailroom::client {

std::string shell_help() {
  return "Type SMTP commands as you would in telnet (EHLO, MAIL FROM:<a@b>, RCPT TO:<c@d>, DATA,\n"
         "RSET, NOOP, QUIT ...). Every reply is explained. After DATA's 354, type the message;\n"
         "a line with a single \".\" ends it (lines starting with \".\" are dot-stuffed for you).\n"
         "  :auth login USER   AUTH LOGIN, base64 done for you; the password is asked, not shown\n"
         "  :auth plain USER   AUTH PLAIN with the same prompt\n"
         "  :starttls          STARTTLS and the TLS handshake (then EHLO again)\n"
         "  :log FILE          append this session, from its start, to FILE\n"
         "  :help              this text\n"
         "  :quit              QUIT and leave (so does Ctrl-D)";
}

namespace {

using Direction = net::TranscriptLine::Direction;

// A 334 challenge decoded, when it is base64 of printable text ("Username:").
std::optional<std::string> decoded_challenge(const smtp::ReceivedReply& r) {
  if (r.reply.code != 334 || r.raw_lines.empty()) return std::nullopt;
  const std::string& line = r.raw_lines.back();
  if (line.size() <= 4) return std::nullopt;
  auto text = smtp::base64_decode(line.substr(4));
  if (!text || text->empty()) return std::nullopt;
  for (unsigned char c : *text)
    if (c < 32 || c > 126) return std::nullopt;
  return text;
}

}  // namespace

class ShellSession::Impl {
 public:
  Impl(ShellSession& owner, ShellOptions o, Output out, AskSecret ask)
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

  bool connect() {
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
      say(greeting.timed_out
              ? fmt::format("FAIL banner: no greeting within {} s", o_.timeout.count())
              : std::string("FAIL banner: no valid greeting"));
      owner_.exit_code_ = exit_code_for(Step::Banner);
      client_->close();
      return false;
    }
    say("** connected; :help lists the helpers, Ctrl-D ends the session");
    return client_->connected();
  }

  bool input(const std::string& typed) {
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

  void finish() {
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

  bool open() const { return client_->connected(); }

  ~Impl() {
    client_->close();
    client_.reset();
  }

 private:
  template <typename T>
  T run(asio::awaitable<T> op) {
    T result{};
    std::exception_ptr error;
    asio::co_spawn(io_, std::move(op), [&result, &error](std::exception_ptr e, T value) {
      error = e;
      if (!e) result = std::move(value);
    });
    io_.restart();
    io_.run();
    if (error) std::rethrow_exception(error);
    return result;
  }

  HostAddresses resolve(const HostPort& target) {
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

  static NetworkFailure network_failure(const std::string& why) {
    if (why.find("refused") != std::string::npos) return NetworkFailure::Refused;
    if (why.find("timed out") != std::string::npos) return NetworkFailure::TimedOut;
    if (why.find("unreachable") != std::string::npos) return NetworkFailure::Unreachable;
    return NetworkFailure::ClosedMidReply;
  }

  void say(const std::string& line) {
    out_(line);
    record(line);
  }

  void record(const std::string& line) {
    history_.push_back(line);
    if (log_) {
      log_ << line << "\n";
      log_.flush();
    }
  }

  void transcript(const net::TranscriptLine& l) {
    switch (l.direction) {
      case Direction::Sent: {
        std::string shown = "-> " + (mask_.empty() ? l.text : mask_);
        if (echo_sent_) {
          say(shown);
        } else {
          record(shown);
        }
        break;
      }
      case Direction::Received:
        say("<- " + printable(l.text));
        break;
      case Direction::Info:
        say("** " + l.text);
        break;
    }
  }

  void annotate(const net::RawExchange& x) {
    for (std::size_t i = 0; i < x.replies.size(); ++i) {
      const auto& r = x.replies[i];
      std::string note = "   # ";
      if (i < late_) note += "(late reply to an earlier command) ";
      note += explain(r.reply);
      if (auto decoded = decoded_challenge(r)) note += fmt::format("; decoded: \"{}\"", *decoded);
      say(note);
    }
    late_ = 0;
  }

  // Sends and waits for the reply, and for the replies still owed to commands that timed out:
  // replies come in order, so those come first and are labelled, never taken for this one's.
  net::RawExchange exchange(const std::string& bytes, bool typed) {
    echo_sent_ = !typed || !o_.interactive;
    const std::size_t asked = 1 + owed_;
    net::RawExchange x = run(client_->raw(bytes, asked, std::chrono::milliseconds(o_.timeout)));
    echo_sent_ = true;
    late_ = std::min(owed_, x.replies.size());
    owed_ = x.replies.size() < asked ? asked - x.replies.size() : 0;
    return x;
  }

  // Shows what the server said unasked since the last exchange (a 421 before closing, say).
  bool drain() {
    if (!client_->connected()) {
      gone();
      return false;
    }
    net::RawExchange x = run(client_->raw("", 0, std::chrono::milliseconds(20)));
    late_ = std::min(owed_, x.replies.size());
    owed_ -= late_;
    const bool unasked = x.replies.size() > late_;
    annotate(x);
    if (unasked) say("** the server said the above unasked");
    if (x.closed || x.malformed) return outcome(x);
    return true;
  }

  // What an exchange's outcome means for the session. False when it is over.
  bool after(const net::RawExchange& x) {
    annotate(x);
    return outcome(x);
  }

  bool outcome(const net::RawExchange& x) {
    if (x.malformed) {
      say("FAIL " + std::string(step_name(last_step_)) +
          ": malformed reply: " + x.malformed->message());
      for (const auto& c : causes_for_network(last_step_, NetworkFailure::Malformed))
        say("        - " + c);
      owner_.exit_code_ = exit_code_for(last_step_);
      client_->close();
      return false;
    }
    if (x.closed) {
      const bool quit = last_step_ == Step::Quit && !x.replies.empty();
      if (quit) return false;
      gone();
      return false;
    }
    if (x.timed_out)
      say(fmt::format("** no reply within {} s; type the next command, or :quit",
                      o_.timeout.count()));
    return true;
  }

  void gone() {
    say(fmt::format("FAIL {}: the server closed the connection", step_name(last_step_)));
    for (const auto& c : causes_for_network(last_step_, NetworkFailure::ClosedMidReply))
      say("        - " + c);
    owner_.exit_code_ = exit_code_for(last_step_);
    client_->close();
  }

  bool data_line(const std::string& typed) {
    if (typed != ".") {
      body_ += typed + "\r\n";
      ++body_lines_;
      return true;
    }
    owner_.in_data_ = false;
    last_step_ = Step::Data;
    std::string wire = smtp::dot_stuff(body_);
    if (o_.interactive)
      say(fmt::format("** sending {} lines ({} octets), dot-stuffed, and the final \".\"",
                      body_lines_, body_.size()));
    net::RawExchange x = exchange(wire, true);
    body_.clear();
    return after(x);
  }

  bool helper(const std::string& typed) {
    std::vector<std::string> words;
    for (std::size_t i = 1; i < typed.size();) {
      auto sp = typed.find(' ', i);
      if (sp == std::string::npos) sp = typed.size();
      if (sp > i) words.push_back(typed.substr(i, sp - i));
      i = sp + 1;
    }
    const std::string verb = words.empty() ? "" : util::to_ascii_lower(words[0]);
    if (verb == "help") {
      for (std::size_t start = 0; start < shell_help().size();) {
        auto nl = shell_help().find('\n', start);
        if (nl == std::string::npos) nl = shell_help().size();
        say(shell_help().substr(start, nl - start));
        start = nl + 1;
      }
      return true;
    }
    if (verb == "quit") {
      finish();
      return false;
    }
    if (verb == "log") {
      if (words.size() != 2) {
        say("** usage: :log FILE");
        return true;
      }
      open_log(words[1]);
      return true;
    }
    if (verb == "starttls") return starttls();
    if (verb == "auth" && words.size() == 3) {
      const std::string mech = util::to_ascii_lower(words[1]);
      if (mech == "login") return auth_login(words[2]);
      if (mech == "plain") return auth_plain(words[2]);
    }
    if (verb == "auth") {
      say("** usage: :auth login USER  or  :auth plain USER");
      return true;
    }
    say("** unknown helper \"" + typed + "\"; :help lists them");
    return true;
  }

  void open_log(const std::string& path) {
    log_.close();
    log_.open(path, std::ios::app);
    if (!log_) {
      say("** cannot open " + path + " for writing");
      return;
    }
    log_ << "# mailroom shell " << o_.host << " " << o_.port << ", " << util::rfc5322_now() << "\n";
    for (const auto& line : history_) log_ << line << "\n";
    log_.flush();
    say("** logging this session to " + path);
  }

  bool starttls() {
    last_step_ = Step::StartTls;
    net::RawExchange x = exchange("STARTTLS\r\n", false);
    if (!after(x)) return false;
    if (x.replies.empty() || x.replies.back().reply.code != 220) {
      say("** STARTTLS was not accepted; the session goes on in plaintext");
      return true;
    }
    const bool ok = run(client_->raw_start_tls());
    if (!ok) {
      say("FAIL STARTTLS: the TLS handshake failed");
      owner_.exit_code_ = exit_code_for(Step::StartTls);
      client_->close();
      return false;
    }
    if (const auto& tls = client_->tls()) say("** " + certificate_line(*tls));
    say("** TLS is on: say EHLO again, the server has forgotten the session (RFC 3207 4.2)");
    return true;
  }

  // One step of an AUTH exchange; a secret's line is shown and logged as `mask`.
  net::RawExchange auth_step(const std::string& bytes, const std::string& mask = {}) {
    mask_ = mask;
    net::RawExchange x = exchange(bytes, false);
    mask_.clear();
    return x;
  }

  bool auth_login(const std::string& user) {
    last_step_ = Step::Auth;
    net::RawExchange first = auth_step("AUTH LOGIN\r\n");
    if (!after(first)) return false;
    if (first.replies.empty() || first.replies.back().reply.code != 334) return true;
    say(fmt::format("** answering with the user name \"{}\" in base64", user));
    net::RawExchange second = auth_step(smtp::base64_encode(user) + "\r\n");
    if (!after(second)) return false;
    if (second.replies.empty() || second.replies.back().reply.code != 334) return true;
    auto password = ask_(fmt::format("Password for {}: ", user));
    if (!password) {
      say("** no password given: cancelling the exchange");
      net::RawExchange cancel = auth_step("*\r\n");
      return after(cancel);
    }
    say("** answering with the password in base64 (not shown)");
    net::RawExchange third = auth_step(smtp::base64_encode(*password) + "\r\n", "****");
    return after(third);
  }

  bool auth_plain(const std::string& user) {
    last_step_ = Step::Auth;
    auto password = ask_(fmt::format("Password for {}: ", user));
    if (!password) {
      say("** no password given");
      return true;
    }
    std::string response;
    response.push_back('\0');
    response += user;
    response.push_back('\0');
    response += *password;
    net::RawExchange x =
        auth_step("AUTH PLAIN " + smtp::base64_encode(response) + "\r\n", "AUTH PLAIN ****");
    return after(x);
  }

  ShellSession& owner_;
  ShellOptions o_;
  Output out_;
  AskSecret ask_;
  asio::io_context io_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::unique_ptr<net::SmtpClient> client_;
  std::ofstream log_;
  std::vector<std::string> history_;
  bool echo_sent_ = true;
  std::string mask_;      // shown instead of a sent line that holds a secret
  std::size_t owed_ = 0;  // replies still due to commands whose wait timed out
  std::size_t late_ = 0;  // how many of the replies being shown are such late ones
  Step last_step_ = Step::Banner;
  std::string body_;
  std::size_t body_lines_ = 0;
};

ShellSession::ShellSession(ShellOptions options, Output out, AskSecret ask_secret)
    : impl_(std::make_unique<Impl>(*this, std::move(options), std::move(out),
                                   std::move(ask_secret))) {}

ShellSession::~ShellSession() = default;

bool ShellSession::connect() { return impl_->connect(); }
bool ShellSession::input(const std::string& line) { return impl_->input(line); }
void ShellSession::finish() { impl_->finish(); }
bool ShellSession::open() const { return impl_->open(); }

}  // namespace mailroom::client
