// Drives smtp::SessionState with arbitrary command sequences, applying each transition the way the
// session does when a command is allowed, and checks the order rules against a separate count of
// what was accepted: MAIL only outside a transaction and after a greeting, RCPT only after MAIL and
// before BDAT, DATA only after a RCPT and never after BDAT, AUTH only after EHLO and outside a
// transaction.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "smtp/session_state.hpp"

using namespace mailroom::smtp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static constexpr Verb kVerbs[] = {Verb::Helo, Verb::Ehlo, Verb::Mail,     Verb::Rcpt,
                                    Verb::Data, Verb::Bdat, Verb::Rset,     Verb::Auth,
                                    Verb::Noop, Verb::Quit, Verb::StartTls, Verb::Unknown};
  SessionState s;
  bool greeted = false, esmtp = false, mail = false, bdat = false;
  int rcpts = 0;
  auto clear = [&] { mail = false, bdat = false, rcpts = 0; };
  for (std::size_t i = 0; i < size; ++i) {
    const Verb verb = kVerbs[data[i] % std::size(kVerbs)];
    const bool last = (data[i] & 0x80) != 0;  // for BDAT: LAST
    const bool allowed = !s.check(verb).has_value();
    switch (verb) {
      case Verb::Mail:
        if (allowed != (greeted && !mail)) std::abort();
        if (allowed) s.mail(), mail = true;
        break;
      case Verb::Rcpt:
        if (allowed != (greeted && mail && !bdat)) std::abort();
        if (allowed) s.rcpt(), ++rcpts;
        break;
      case Verb::Data:
        if (allowed != (greeted && mail && rcpts > 0 && !bdat)) std::abort();
        if (allowed) s.end_transaction(), clear();
        break;
      case Verb::Bdat:
        if (allowed != (greeted && mail && rcpts > 0)) std::abort();
        if (allowed && last) s.end_transaction(), clear();
        if (allowed && !last) s.bdat_chunk(), bdat = true;
        break;
      case Verb::Auth:
        if (allowed != (greeted && esmtp && !mail)) std::abort();
        break;
      case Verb::Helo:
      case Verb::Ehlo:
        if (!allowed) std::abort();
        s.hello(verb == Verb::Ehlo), greeted = true, esmtp = verb == Verb::Ehlo, clear();
        break;
      case Verb::Rset:
        if (!allowed) std::abort();
        s.end_transaction(), clear();
        break;
      case Verb::StartTls:
        if (!allowed) std::abort();
        s.tls_started(), greeted = false, esmtp = false, clear();
        break;
      default:
        if (!allowed) std::abort();
    }
    if (s.greeted() != greeted || s.in_transaction() != mail || s.esmtp() != (greeted && esmtp))
      std::abort();
  }
  return 0;
}
