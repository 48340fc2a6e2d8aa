#include <fmt/format.h>

#include "client/probe.hpp"
#include "client/reply_meaning.hpp"
#include "client/shell_impl.hpp"
#include "smtp/auth.hpp"
#include "smtp/dot_stuffer.hpp"

namespace mailroom::client {

namespace {

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

void ShellSession::Impl::annotate(const net::RawExchange& x) {
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
net::RawExchange ShellSession::Impl::exchange(const std::string& bytes, bool typed) {
  echo_sent_ = !typed || !o_.interactive;
  const std::size_t asked = 1 + owed_;
  net::RawExchange x = run(client_->raw(bytes, asked, std::chrono::milliseconds(o_.timeout)));
  echo_sent_ = true;
  late_ = std::min(owed_, x.replies.size());
  owed_ = x.replies.size() < asked ? asked - x.replies.size() : 0;
  return x;
}

// Shows what the server said unasked since the last exchange (a 421 before closing, say).
bool ShellSession::Impl::drain() {
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
bool ShellSession::Impl::after(const net::RawExchange& x) {
  annotate(x);
  return outcome(x);
}

bool ShellSession::Impl::outcome(const net::RawExchange& x) {
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

void ShellSession::Impl::gone() {
  say(fmt::format("FAIL {}: the server closed the connection", step_name(last_step_)));
  for (const auto& c : causes_for_network(last_step_, NetworkFailure::ClosedMidReply))
    say("        - " + c);
  owner_.exit_code_ = exit_code_for(last_step_);
  client_->close();
}

bool ShellSession::Impl::data_line(const std::string& typed) {
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

}  // namespace mailroom::client
