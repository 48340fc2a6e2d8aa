// dns/answer: what a server's response means for the question asked, and for how long.
//
// Owns the reading of a response (RFC 1035 4.1, 7.3; RFC 2181 5.2, 10.1; RFC 2308):
//   - RCODE 3 is NXDOMAIN; RCODE 0 with no record of the asked type at the end of the CNAME chain
//     is NODATA; RCODE 2 SERVFAIL and RCODE 5 REFUSED are temporary; any other RCODE is TempError.
//   - CNAME chains inside the answer section are followed from the question name, at most
//     kMaxCnameHops links; a longer chain or a loop is Malformed (a temporary failure).
//   - A positive answer lives for the smallest TTL of its RRset and of the CNAMEs that led to it
//     (RFC 2181 5.2); a negative one for min(SOA TTL, SOA MINIMUM) of the SOA in the authority
//     section (RFC 2308 5), or TtlLimits::default_negative_ttl_s when the server sent none
//     (dnsmasq's --local answers carry no SOA). Both are capped by TtlLimits.
// Never: report NXDOMAIN or NODATA unless the server said so, or let an answer live longer
// than the TTLs it was built from.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/status.hpp"
#include "dns/wire.hpp"

namespace mailroom::dns {

inline constexpr int kMaxCnameHops = 8;

struct TtlLimits {
  std::uint32_t max_ttl_s = 86400;            // a day: a changed MX is seen by tomorrow
  std::uint32_t max_negative_ttl_s = 3600;    // RFC 2308 5 suggests 1 to 3 hours
  std::uint32_t default_negative_ttl_s = 60;  // a negative answer without an SOA
};

struct Answer {
  std::string name;  // the question, normalized (dns/name)
  RrType type = RrType::A;
  Status status = Status::TempError;
  std::uint32_t ttl_s = 0;              // seconds it may still be used; 0: only this once
  std::string canonical_name;           // where the CNAME chain ended; == name without one
  std::vector<ResourceRecord> records;  // the RRset of `type` owned by canonical_name
  bool from_cache = false;
};

// The Answer for (name, type) in `response`, which the caller has matched to the question
// (c-ares checks id and question before handing a response over). `name` is normalized.
Answer interpret_response(const Message& response, std::string_view name, RrType type,
                          const TtlLimits& limits);

// An Answer with no records and no lifetime: failures that never reached a server's answer.
Answer failed_answer(std::string_view name, RrType type, Status status);

}  // namespace mailroom::dns
