#include "client/probe_steps.hpp"

#include <charconv>
#include <deque>

#include "client/reply_meaning.hpp"
#include "util/ascii.hpp"

namespace mailroom::client {
namespace {

using Direction = net::TranscriptLine::Direction;

bool final_line(const std::string& line) {
  return line.size() == 3 || (line.size() > 3 && line[3] == ' ');
}

int code_of(const std::string& line) {
  int code = 0;
  if (line.size() < 3) return 0;
  std::from_chars(line.data(), line.data() + 3, code);
  return code;
}

// A reply from its raw lines ("250-a", "250 2.0.0 b").
smtp::Reply reply_of(const std::vector<std::string>& lines) {
  smtp::Reply r;
  r.code = lines.empty() ? 0 : code_of(lines.back());
  for (const auto& l : lines) {
    std::string text = l.size() > 4 ? l.substr(4) : "";
    if (r.enhanced.empty() && text.size() >= 5 && text[1] == '.' &&
        text[0] == static_cast<char>('0' + r.code / 100)) {
      auto sp = text.find(' ');
      r.enhanced = text.substr(0, sp);
    }
    r.lines.push_back(text);
  }
  if (!r.enhanced.empty())
    for (auto& t : r.lines)
      if (t.rfind(r.enhanced, 0) == 0)
        t = t.size() > r.enhanced.size() ? t.substr(r.enhanced.size() + 1) : "";
  return r;
}

double ms_between(Transcript::Clock::time_point a, Transcript::Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

NetworkFailure network_failure_of(const std::string& text) {
  if (text.find("refused") != std::string::npos) return NetworkFailure::Refused;
  if (text.find("timed out") != std::string::npos || text.find("timeout") != std::string::npos)
    return NetworkFailure::TimedOut;
  if (text.find("unreachable") != std::string::npos) return NetworkFailure::Unreachable;
  if (text.find("reset") != std::string::npos) return NetworkFailure::Reset;
  return NetworkFailure::ClosedMidReply;
}

NetworkFailure network_failure_of(const smtp::SessionFailed& failure) {
  switch (failure.cause) {
    case smtp::FailureCause::Timeout:
      return NetworkFailure::TimedOut;
    case smtp::FailureCause::MalformedReply:
    case smtp::FailureCause::UnexpectedReply:
      return NetworkFailure::Malformed;
    default:
      return NetworkFailure::ClosedMidReply;
  }
}

// The step a client state belongs to.
Step step_of_state(smtp::ClientState state) {
  using smtp::ClientState;
  switch (state) {
    case ClientState::Connecting:
      return Step::Connect;
    case ClientState::Banner:
      return Step::Banner;
    case ClientState::Ehlo:
    case ClientState::TlsEhlo:
      return Step::Ehlo;
    case ClientState::Helo:
      return Step::Helo;
    case ClientState::StartTls:
    case ClientState::TlsHandshake:
      return Step::StartTls;
    case ClientState::Auth:
      return Step::Auth;
    case ClientState::Ready:
    case ClientState::Mail:
      return Step::Mail;
    case ClientState::Rcpt:
      return Step::Rcpt;
    case ClientState::Data:
    case ClientState::DataBody:
    case ClientState::EndOfData:
    case ClientState::Bdat:
      return Step::Data;
    case ClientState::Rset:
      return Step::Rset;
    case ClientState::Quit:
    case ClientState::Done:
    case ClientState::Failed:
      return Step::Quit;
  }
  return Step::Connect;
}

// A failure no reply in the transcript shows (a timeout while nothing was awaited from a
// command, a policy decision of the client, a lost connection).
ProbeStep failure_step(const smtp::SessionFailed& failure) {
  ProbeStep s;
  s.step = step_of_state(failure.stage);
  s.verdict = Verdict::Fail;
  s.summary = failure.reply.summary();
  switch (failure.cause) {
    case smtp::FailureCause::TlsNotOffered:
      s.step = Step::StartTls;
      s.causes = {
          "The server does not offer STARTTLS (not configured, or a firewall strips "
          "it from the EHLO reply)"};
      break;
    case smtp::FailureCause::TlsFailed:
    case smtp::FailureCause::StartTlsInjection:
      s.step = Step::StartTls;
      s.causes = {"The server's TLS configuration is broken (certificate, key, protocols)",
                  "The certificate is not trusted or does not name this host (--tls-verify)",
                  "A device in between interferes with TLS"};
      break;
    case smtp::FailureCause::AuthNeedsTls:
      s.step = Step::Auth;
      s.causes = {
          "Credentials are only sent inside TLS: the server offered no STARTTLS, or "
          "use --tls to insist on it"};
      break;
    case smtp::FailureCause::AuthUnavailable:
      s.step = Step::Auth;
      s.causes = {
          "The server offers no AUTH mechanism this client can use (PLAIN, LOGIN, "
          "XOAUTH2), or not the one asked for",
          "AUTH is offered only after STARTTLS on this server"};
      break;
    case smtp::FailureCause::Timeout:
      s.causes = causes_for_network(s.step, NetworkFailure::TimedOut);
      break;
    case smtp::FailureCause::ConnectionLost:
      s.causes = causes_for_network(s.step, NetworkFailure::ClosedMidReply);
      break;
    case smtp::FailureCause::MalformedReply:
    case smtp::FailureCause::UnexpectedReply:
      s.causes = causes_for_network(s.step, NetworkFailure::Malformed);
      break;
    default:
      s.causes = causes_for_reply(s.step, failure.reply);
  }
  return s;
}

void judge(ProbeStep& s) {
  auto r = reply_of(s.reply);
  s.summary = s.reply.empty() ? s.summary : s.reply.back();
  if (s.reply.size() > 1 && (s.step == Step::Ehlo || s.step == Step::Helo))
    s.summary = s.reply.front() + " (+" + std::to_string(s.reply.size() - 1) + " lines)";
  s.meaning = explain(r);
  if (r.code >= 400) {
    s.verdict = Verdict::Fail;
    s.causes = causes_for_reply(s.step, r);
  }
}

}  // namespace

std::optional<Step> step_of_command(const std::string& line) {
  auto verb = util::to_ascii_upper(line.substr(0, line.find(' ')));
  if (verb == "EHLO" || verb == "LHLO") return Step::Ehlo;
  if (verb == "HELO") return Step::Helo;
  if (verb == "STARTTLS") return Step::StartTls;
  if (verb == "AUTH") return Step::Auth;
  if (verb == "MAIL") return Step::Mail;
  if (verb == "RCPT") return Step::Rcpt;
  if (verb == "DATA" || verb == "BDAT" || verb == ".") return Step::Data;
  if (verb == "RSET") return Step::Rset;
  if (verb == "QUIT") return Step::Quit;
  return std::nullopt;  // body lines, AUTH responses
}

void Transcript::add(const net::TranscriptLine& line) {
  entries_.push_back({Clock::now(), line.direction, line.text});
}

void Transcript::mark() {
  mark_ = entries_.size();
  mark_time_ = Clock::now();
}

std::vector<Transcript::Entry> Transcript::since_mark() const {
  return {entries_.begin() + static_cast<std::ptrdiff_t>(mark_), entries_.end()};
}

std::vector<ProbeStep> steps_from_transcript(const Transcript& transcript,
                                             const std::optional<smtp::SessionFailed>& failure) {
  std::vector<ProbeStep> steps;
  // Commands waiting for their replies, oldest first: with PIPELINING several are out at once
  // and replies come back in order (RFC 2920 3.1).
  struct Waiting {
    ProbeStep step;
    Transcript::Clock::time_point sent;
  };
  std::deque<Waiting> waiting;
  Transcript::Clock::time_point started = transcript.mark_time();
  bool banner_seen =
      !transcript.since_mark().empty() && transcript.all().size() != transcript.since_mark().size();
  for (const auto& e : transcript.since_mark()) {
    switch (e.direction) {
      case Direction::Info:
        if (e.text.rfind("connected to ", 0) == 0) {
          ProbeStep s;
          s.step = Step::Connect;
          s.summary = e.text.substr(13);
          s.ms = ms_between(started, e.at);
          steps.push_back(std::move(s));
          started = e.at;
        } else if (e.text.rfind("421 4.4.1 connect to ", 0) == 0) {
          ProbeStep s;
          s.step = Step::Connect;
          s.verdict = Verdict::Fail;
          s.summary = e.text.substr(10);
          s.ms = ms_between(started, e.at);
          s.causes = causes_for_network(Step::Connect, network_failure_of(e.text));
          steps.push_back(std::move(s));
        } else if (e.text.rfind("TLS established: ", 0) == 0) {
          ProbeStep s;
          s.step = Step::Certificate;
          s.summary = e.text.substr(17);
          if (e.text.find("not trusted") != std::string::npos) {
            s.verdict = Verdict::Warn;
            s.causes = {
                "The certificate chain is not trusted or does not name this host: "
                "clients that verify (and MTA-STS/DANE senders) will not deliver"};
          }
          steps.push_back(std::move(s));
        } else if (e.text.rfind("TLS handshake failed: ", 0) == 0) {
          ProbeStep s;
          s.step = Step::StartTls;
          s.verdict = Verdict::Fail;
          s.summary = e.text;
          s.causes = {"The server's TLS configuration is broken (certificate, key, protocols)",
                      "A device in between interferes with TLS"};
          steps.push_back(std::move(s));
        }
        break;
      case Direction::Sent: {
        auto step = step_of_command(e.text);
        if (!step) break;  // AUTH continuation or body: part of the current step
        Waiting w;
        w.step.step = *step;
        w.step.summary = e.text;
        w.sent = e.at;
        waiting.push_back(std::move(w));
        break;
      }
      case Direction::Received: {
        if (waiting.empty() && !banner_seen) {
          Waiting w;
          w.step.step = Step::Banner;
          w.sent = started;
          waiting.push_back(std::move(w));
        }
        if (waiting.empty()) break;  // unsolicited (after the end of data of LMTP, say)
        ProbeStep& current = waiting.front().step;
        current.reply.push_back(e.text);
        if (!final_line(e.text)) break;
        const int code = code_of(e.text);
        if (code == 334 && current.step == Step::Auth) break;  // the exchange goes on
        if (current.step == Step::Banner) banner_seen = true;
        current.ms = ms_between(waiting.front().sent, e.at);
        judge(current);
        steps.push_back(std::move(current));
        waiting.pop_front();
        started = e.at;
        break;
      }
    }
  }
  // EHLO refused and HELO accepted: the server speaks plain SMTP; a warning, not a failure.
  for (std::size_t i = 0; i + 1 < steps.size(); ++i)
    if (steps[i].step == Step::Ehlo && steps[i].verdict == Verdict::Fail &&
        steps[i + 1].step == Step::Helo && steps[i + 1].verdict == Verdict::Ok)
      steps[i].verdict = Verdict::Warn;
  if (!failure) return steps;
  for (const auto& s : steps)
    if (s.verdict == Verdict::Fail) return steps;  // already said where it broke
  if (!waiting.empty()) {
    // The first command still waiting for its reply is where the session broke.
    ProbeStep current = std::move(waiting.front().step);
    current.verdict = Verdict::Fail;
    current.summary = failure->reply.summary();
    current.causes = causes_for_network(current.step, network_failure_of(*failure));
    steps.push_back(std::move(current));
    return steps;
  }
  steps.push_back(failure_step(*failure));
  return steps;
}

void append_steps(HostProbe& probe, std::vector<ProbeStep> steps) {
  for (auto& s : steps) {
    if (s.verdict == Verdict::Fail && !probe.failed_at) probe.failed_at = s.step;
    probe.steps.push_back(std::move(s));
  }
}

std::optional<std::string> inspection_signs(const Transcript& transcript) {
  std::vector<std::string> banner, ehlo;
  int ehlo_code = 0;
  bool in_banner = true, in_ehlo = false;
  for (const auto& e : transcript.all()) {
    if (e.direction == Direction::Sent) {
      in_banner = false;
      in_ehlo = util::istarts_with(e.text, "EHLO");
      continue;
    }
    if (e.direction != Direction::Received) continue;
    if (in_banner) banner.push_back(e.text);
    if (in_ehlo) {
      ehlo.push_back(e.text);
      if (final_line(e.text)) {
        ehlo_code = code_of(e.text);
        in_ehlo = false;
      }
    }
  }
  return smtp_inspection_signs(banner, ehlo, ehlo_code);
}

}  // namespace mailroom::client
