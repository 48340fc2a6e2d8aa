#include "server/recipient_policy.hpp"

#include <strings.h>

namespace mailroom::server {

RecipientPolicy::RecipientPolicy(const config::ListenerConfig& listener,
                                 const directory::Directory& dir)
    : listener_(listener), dir_(dir), relay_ranges_(util::parse_ranges(listener.relay_ranges)) {}

bool RecipientPolicy::may_relay(const ClientIdentity& client) const {
  switch (listener_.relay) {
    case config::RelayMode::None:
      return false;
    case config::RelayMode::Authenticated:
      return client.authenticated;
    case config::RelayMode::Ranges:
      return client.authenticated || util::any_contains(relay_ranges_, client.ip);
  }
  return false;
}

RecipientDecision RecipientPolicy::check(const smtp::Address& rcpt,
                                         const ClientIdentity& client) const {
  RecipientDecision d;
  d.address = rcpt.str();
  const bool literal = !rcpt.domain.empty() && rcpt.domain.front() == '[';
  // RFC 5321 4.1.1.3: a bare "<Postmaster>" names this host's postmaster.
  const bool bare_postmaster = rcpt.domain.empty() && rcpt.local_part.size() == 10 &&
                               strncasecmp(rcpt.local_part.c_str(), "postmaster", 10) == 0;
  if (bare_postmaster || (!literal && !rcpt.domain.empty() && dir_.is_local_domain(rcpt.domain))) {
    // Routing characters in a local part would hand the address to another host if any later
    // stage interpreted them (RFC 5321 3.6.1, 7.9); they never name a mailbox here.
    if (rcpt.local_part.find_first_of("@%!") != std::string::npos) {
      d.reply = smtp::replies::user_unknown();
      d.log_reason = "routing characters in local part";
      return d;
    }
    if (bare_postmaster) {
      auto domains = dir_.local_domains();
      if (!domains.empty()) d.address = "postmaster@" + domains.front();
    }
    auto res = dir_.resolve(d.address);
    switch (res.status) {
      case directory::Resolution::Status::Ok:
        d.accepted = true;
        d.reply = smtp::replies::recipient_ok();
        d.log_reason = "local";
        return d;
      case directory::Resolution::Status::AliasError:
        d.reply = smtp::replies::alias_error();
        d.log_reason = "alias error: " + res.error;
        return d;
      case directory::Resolution::Status::UnknownUser:
      case directory::Resolution::Status::NotLocal:
        d.reply = smtp::replies::user_unknown();
        d.log_reason = "unknown user";
        return d;
    }
  }
  if (may_relay(client)) {
    d.accepted = true;
    d.relayed = true;
    d.reply = smtp::replies::recipient_ok();
    d.log_reason = client.authenticated ? "relay: authenticated" : "relay: client in relay_ranges";
    return d;
  }
  d.reply = smtp::replies::unable_to_relay();
  d.log_reason = "relay denied";
  return d;
}

}  // namespace mailroom::server
