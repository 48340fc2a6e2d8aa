// dns/delivery_failure: the DSN status and text a DNS failure becomes for the sender (RFC 3463),
// in one place, so the queue, the DSN and `mailroom mx` say the same thing.
//
// Wording follows Postfix (dns_lookup.c, smtp_addr.c) where it has one:
//   - temporary (SERVFAIL, timeout, REFUSED, unreachable server)  4.4.3
//       "Host or domain name not found. Name service error for name=N type=T: Host not found,
//       try again"; an unparsable answer says "Malformed or unexpected name server reply".
//   - the destination domain does not exist (NXDOMAIN on its MX)   5.1.2 (Postfix says 5.4.4;
//       RFC 3463 X.1.2 "bad destination system address" is what the sender needs to fix)
//       "Host or domain name not found. Name service error for name=N type=MX: Host not found"
//   - the domain publishes a null MX (RFC 7505 3.2)                5.1.10
//       "Domain N does not accept mail (nullMX)"
//   - an MX host (or the implicit MX) has no address              5.4.4, as Postfix
//   - when every MX host failed, a temporary failure among them wins (Postfix: "a soft error
//     dominates"): the message is deferred, not bounced.
// Never: make a temporary DNS failure permanent.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dns/typed_answers.hpp"

namespace mailroom::dns {

struct DeliveryFailure {
  bool permanent = false;
  std::string enhanced_status;  // "4.4.3", "5.1.2", "5.1.10", "5.4.4"
  std::string text;             // for the DSN diagnostic and `mailroom queue list`
  std::string detail;           // the Status token ("servfail", "timeout"...), for logs
  bool operator==(const DeliveryFailure&) const = default;
};

// Why there is no MX route: the MX lookup failed (any status but Ok/NoData) or found a null MX.
DeliveryFailure mx_lookup_failure(const MxAnswer& answer);

// Why `host` (an MX host, or the domain as implicit MX) gave no address. The record type named in
// the text is the family whose status decided the merged one.
DeliveryFailure host_lookup_failure(const AddressAnswer& answer);

// The failure to report when no MX host could be used; `failures` is not empty.
DeliveryFailure combine_host_failures(const std::vector<DeliveryFailure>& failures);

}  // namespace mailroom::dns
