#include "server/recipient_policy.hpp"

#include <arpa/inet.h>
#include <strings.h>

#include <array>
#include <cstring>
#include <optional>

#include "util/ascii.hpp"
#include "util/metrics.hpp"

namespace mailroom::server {
namespace {

void count_lookup(directory::Resolution::Status status) {
  using S = directory::Resolution::Status;
  static auto& family =
      util::metrics().counter("mailroom_directory_lookups_total",
                              "Recipient lookups in the directory, by result", {"result"});
  static std::array<util::Counter*, 4> by_status = {
      &family.with({"found"}), &family.with({"unknown_user"}), &family.with({"not_local"}),
      &family.with({"alias_error"})};
  switch (status) {
    case S::Ok:
      return by_status[0]->inc();
    case S::UnknownUser:
      return by_status[1]->inc();
    case S::NotLocal:
      return by_status[2]->inc();
    case S::AliasError:
      return by_status[3]->inc();
  }
}

}  // namespace
namespace {

// An IP address as 16 octets, IPv4 as IPv4-mapped IPv6, so that [1.2.3.4] and
// [IPv6:::ffff:1.2.3.4] compare equal; nullopt when `text` is no address.
std::optional<std::array<unsigned char, 16>> ip_octets(const std::string& text) {
  std::array<unsigned char, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

// "[192.0.2.1]" / "[IPv6:2001:db8::1]" (as smtp/address.hpp keeps them) names `local_ip`.
bool names_local_ip(std::string_view literal, std::string_view local_ip) {
  if (literal.size() < 3 || literal.front() != '[' || literal.back() != ']') return false;
  literal = literal.substr(1, literal.size() - 2);
  if (util::istarts_with(literal, "IPv6:")) literal.remove_prefix(5);
  auto ours = ip_octets(std::string(local_ip));
  return ours && ip_octets(std::string(literal)) == ours;
}

}  // namespace

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

RecipientDecision RecipientPolicy::check(const smtp::Address& rcpt, const ClientIdentity& client,
                                         std::string_view local_ip) const {
  RecipientDecision d;
  d.address = rcpt.str();
  const bool literal = !rcpt.domain.empty() && rcpt.domain.front() == '[';
  const bool postmaster =
      rcpt.local_part.size() == 10 && strncasecmp(rcpt.local_part.c_str(), "postmaster", 10) == 0;
  // RFC 5321 4.1.1.3: a bare "<Postmaster>" names this host's postmaster; so does
  // postmaster@[our own address] (4.1.3, 4.5.1).
  const bool own_literal = literal && names_local_ip(rcpt.domain, local_ip);
  if (own_literal && !postmaster) {
    d.reply = smtp::replies::user_unknown();
    d.log_reason = "no mailbox under our address literal";
    return d;
  }
  const bool bare_postmaster = postmaster && (rcpt.domain.empty() || own_literal);
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
    count_lookup(res.status);
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
