#include "client/reply_meaning.hpp"
#include "client/shell_impl.hpp"
#include "util/rfc5322_date.hpp"

namespace mailroom::client {

namespace {

using Direction = net::TranscriptLine::Direction;

}  // namespace

void ShellSession::Impl::say(const std::string& line) {
  out_(line);
  record(line);
}

void ShellSession::Impl::record(const std::string& line) {
  history_.push_back(line);
  if (log_) {
    log_ << line << "\n";
    log_.flush();
  }
}

void ShellSession::Impl::transcript(const net::TranscriptLine& l) {
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

void ShellSession::Impl::open_log(const std::string& path) {
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

}  // namespace mailroom::client
