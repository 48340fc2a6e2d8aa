// dns/status: what became of one DNS lookup, in the classes a mail system acts on.
//
// Delivery must tell a permanent "this destination does not exist" (NXDOMAIN, RFC 1035 4.1.1
// RCODE 3; RFC 2308 2.1) from "the name exists but has no record of that type" (NODATA, RFC 2308
// 2.2; for MX this means the implicit MX of RFC 5321 5.1) and from every temporary failure
// (SERVFAIL, timeouts, refusals), which must defer and retry, never bounce.
// Never: a status that hides a transient failure behind a permanent one.
#pragma once

#include <string_view>

namespace mailroom::dns {

enum class Status {
  Ok,         // records of the asked type (at the end of any CNAME chain)
  NoData,     // the name exists, no records of that type (RCODE 0, empty answer)
  NxDomain,   // the name does not exist (RCODE 3)
  ServFail,   // the server could not answer (RCODE 2)
  Timeout,    // no answer within timeout_ms x tries
  Refused,    // the server refused to answer (RCODE 5), e.g. it does not serve us
  TempError,  // other transient failures: ICMP port unreachable, FORMERR/NOTIMP, out of memory
  Malformed,  // an answer we cannot use: unparsable, or a CNAME loop
  BadName,    // the name asked for is not a valid domain name (never sent)
  Cancelled,  // the Resolver was destroyed with the lookup in flight
};

// The lowercase token used in logs and in `mailroom mx` output: "ok", "nxdomain", "servfail"...
std::string_view to_string(Status status);

// True for every failure a later retry may cure. NxDomain, NoData and BadName are answers about
// the name, not failures to get one.
constexpr bool is_temporary(Status status) {
  switch (status) {
    case Status::ServFail:
    case Status::Timeout:
    case Status::Refused:
    case Status::TempError:
    case Status::Malformed:
    case Status::Cancelled:
      return true;
    case Status::Ok:
    case Status::NoData:
    case Status::NxDomain:
    case Status::BadName:
      return false;
  }
  return true;
}

}  // namespace mailroom::dns
