// smtp/session_state: the command-order rules of an inbound SMTP session, as one pure state
// machine (RFC 5321 4.1.4 and 4.3.2; RFC 3030 for BDAT; RFC 4954 4 for AUTH; RFC 3207 4.2).
//
//   connected --HELO/EHLO--> greeted --MAIL--> mail --RCPT--> rcpt --BDAT (not LAST)--> bdat
//       ^                      ^  ^                             |  \--DATA/BDAT LAST--> greeted
//       |                      |  \------- RSET, end of a message, refusal mid-BDAT ----/
//       \---- STARTTLS done ---/  (HELO/EHLO from any state: greeted, transaction cleared)
//
// check(verb) says whether a verb may be given now and, if not, the exact reply (the seeds'
// "503 5.5.2 Send hello first", "503 5.5.2 Need mail command", ...). Argument syntax and policy
// (AUTH required, relay) are the handlers' business; this only knows the order. Every change of
// state goes through one of the transition functions, which return {from, to} names for the
// session log ("connected" "helo" "ehlo" "mail" "rcpt" "bdat").
// Never: lets RCPT or DATA through before MAIL, MAIL inside a transaction, or AUTH inside a
// transaction or before EHLO.
#pragma once

#include <optional>
#include <string_view>

#include "smtp/command.hpp"
#include "smtp/reply.hpp"

namespace mailroom::smtp {

enum class SessionPhase { Connected, Greeted, Mail, Rcpt, Bdat };

struct StateChange {
  std::string_view from;
  std::string_view to;
  bool changed() const { return from != to; }
};

class SessionState {
 public:
  SessionPhase phase() const { return phase_; }
  bool greeted() const { return phase_ != SessionPhase::Connected; }
  bool esmtp() const { return esmtp_; }
  bool in_transaction() const { return phase_ >= SessionPhase::Mail; }
  std::string_view name() const;

  // nullopt: `verb` may be given in this state. Otherwise the reply refusing it.
  std::optional<Reply> check(Verb verb) const;

  StateChange hello(bool extended);  // HELO (false) or EHLO (true) accepted
  StateChange mail();                // MAIL accepted
  StateChange rcpt();                // a RCPT accepted
  StateChange bdat_chunk();          // a BDAT chunk accepted, more to come
  StateChange end_transaction();     // RSET, a message accepted or refused: back to greeted
  StateChange tls_started();         // RFC 3207 4.2: forget what was learned, EHLO again

 private:
  StateChange enter(SessionPhase next);

  SessionPhase phase_ = SessionPhase::Connected;
  bool esmtp_ = false;
};

}  // namespace mailroom::smtp
