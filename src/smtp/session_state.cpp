#include "smtp/session_state.hpp"

namespace mailroom::smtp {
namespace {

std::string_view phase_name(SessionPhase p, bool esmtp) {
  switch (p) {
    case SessionPhase::Connected:
      return "connected";
    case SessionPhase::Greeted:
      return esmtp ? "ehlo" : "helo";
    case SessionPhase::Mail:
      return "mail";
    case SessionPhase::Rcpt:
      return "rcpt";
    case SessionPhase::Bdat:
      return "bdat";
  }
  return "connected";
}

}  // namespace

std::string_view SessionState::name() const { return phase_name(phase_, esmtp_); }

std::optional<Reply> SessionState::check(Verb verb) const {
  switch (verb) {
    case Verb::Mail:
      if (!greeted()) return replies::send_hello_first();
      if (in_transaction()) return replies::nested_mail();
      return std::nullopt;
    case Verb::Rcpt:
      if (!greeted()) return replies::send_hello_first();
      if (phase_ == SessionPhase::Greeted) return replies::need_mail();
      if (phase_ == SessionPhase::Bdat) return replies::rcpt_after_bdat();
      return std::nullopt;
    case Verb::Data:
      if (!greeted()) return replies::send_hello_first();
      if (phase_ == SessionPhase::Bdat) return replies::bad_sequence_bdat_data();
      if (phase_ == SessionPhase::Greeted) return replies::need_mail();
      if (phase_ == SessionPhase::Mail) return replies::need_rcpt();
      return std::nullopt;
    case Verb::Bdat:
      if (!greeted()) return replies::send_hello_first();
      if (phase_ == SessionPhase::Greeted) return replies::need_mail();
      if (phase_ == SessionPhase::Mail) return replies::need_rcpt();
      return std::nullopt;
    case Verb::Auth:
      // RFC 4954 4: AUTH is an ESMTP command and is not permitted during a mail transaction.
      if (!greeted() || !esmtp_) return replies::send_hello_first();
      if (in_transaction()) return replies::nested_mail();
      return std::nullopt;
    case Verb::Helo:
    case Verb::Ehlo:
    case Verb::Rset:
    case Verb::Noop:
    case Verb::Quit:
    case Verb::Vrfy:
    case Verb::Expn:
    case Verb::Help:
    case Verb::StartTls:
    case Verb::Unknown:
      return std::nullopt;
  }
  return std::nullopt;
}

StateChange SessionState::enter(SessionPhase next) {
  StateChange change{name(), phase_name(next, esmtp_)};
  phase_ = next;
  return change;
}

StateChange SessionState::hello(bool extended) {
  auto from = name();
  esmtp_ = extended;
  phase_ = SessionPhase::Greeted;
  return {from, name()};
}

StateChange SessionState::mail() { return enter(SessionPhase::Mail); }
StateChange SessionState::rcpt() { return enter(SessionPhase::Rcpt); }
StateChange SessionState::bdat_chunk() { return enter(SessionPhase::Bdat); }

StateChange SessionState::end_transaction() {
  return enter(greeted() ? SessionPhase::Greeted : SessionPhase::Connected);
}

StateChange SessionState::tls_started() {
  auto from = name();
  esmtp_ = false;
  phase_ = SessionPhase::Connected;
  return {from, name()};
}

}  // namespace mailroom::smtp
