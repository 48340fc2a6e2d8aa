// client/diagnosis: why a step of an SMTP test failed — the seed documents' "possible reasons
// for failure", as a table from (step, reply or network error) to the likely causes an
// administrator should check, plus the recognition of a firewall that rewrites the dialogue.
//
// Seed 004: a Cisco PIX ("fixup smtp") or ASA ("inspect esmtp") between client and server masks
// the banner with asterisks, answers EHLO with 500 (only RFC 821 commands pass) and may show
// extensions as "XXXXXXXA". Blaming the server for that would send the administrator the wrong
// way, so the probe says what it sees.
// Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"

namespace mailroom::client {

enum class Step {
  Dns,
  Connect,
  Banner,
  Ehlo,
  Helo,
  StartTls,
  Certificate,
  Auth,
  Mail,
  Rcpt,
  Data,
  RelayTest,
  Rset,
  Quit,
  Security
};
std::string_view step_name(Step step);  // "connect", "EHLO", ...

// A network-level failure (no reply to judge by).
enum class NetworkFailure {
  Refused,
  TimedOut,
  Unreachable,
  Reset,
  ClosedMidReply,
  Malformed,
  HostNotFound
};

// The likely causes of `reply` at `step`, most likely first; empty for a success.
std::vector<std::string> causes_for_reply(Step step, const smtp::Reply& reply);
std::vector<std::string> causes_for_network(Step step, NetworkFailure failure);

// Signs of an SMTP-inspecting firewall in the greeting and the EHLO reply; nullopt if none.
std::optional<std::string> smtp_inspection_signs(const std::vector<std::string>& banner,
                                                 const std::vector<std::string>& ehlo_reply,
                                                 int ehlo_code);

}  // namespace mailroom::client
