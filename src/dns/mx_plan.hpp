// dns/mx_plan: from a domain's MX answer, the mail exchangers remote delivery tries, in order,
// or the reason there are none (RFC 5321 5.1, RFC 7505). Pure: no DNS, no clock; the shuffle
// takes an injected random source.
//
// Rules:
//   - by preference, lowest first; hosts of equal preference in random order (RFC 5321 5.1:
//     spread the load), a host listed twice kept once at its best preference;
//   - no MX record (NoData) -> the implicit MX: the domain itself, preference 0 (RFC 5321 5.1);
//   - a null MX (RFC 7505: the only MX is "0 .") -> permanent failure 5.1.10, nothing to try;
//     a "." beside real MX records is ignored with a warning, the others are used; records that
//     are all "." count as a null MX;
//   - the MX lookup failed -> no hosts, the failure of dns/delivery_failure (4.4.3 or 5.1.2);
//   - at most MxPlanLimits::max_hosts (10) hosts, the rest dropped with a warning: a domain
//     listing more is misconfigured or hostile, and each host costs connection attempts;
//   - an exchange that is an IP address written as a name violates RFC 5321 5.1 (it must be a
//     host name); like Postfix we use it anyway, as that address (MxHost::literal), with a
//     warning;
//   - an exchange that is an alias (CNAME) violates RFC 2181 10.3; like Postfix we tolerate it:
//     Resolver::addresses() follows the chain, and AddressAnswer::canonical_name shows it.
// Loop detection (an MX that is this server, RFC 5321 5.1 "discard all records with equal or
// higher preference") needs our own addresses and belongs to delivery.
// Never: try a host of a null-MX domain, or fall back to the implicit MX after an MX lookup
// failed (only NODATA means "no MX").
#pragma once

#include <asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "dns/delivery_failure.hpp"
#include "dns/typed_answers.hpp"

namespace mailroom::dns {

struct MxHost {
  std::string name;  // resolve with Resolver::addresses(), unless `literal` is set
  std::uint16_t preference = 0;
  bool implicit = false;  // the domain itself, for want of MX records
  std::optional<asio::ip::address> literal;
  bool operator==(const MxHost&) const = default;
};

struct MxPlan {
  std::vector<MxHost> hosts;  // in the order to try; empty exactly when failure is set
  std::optional<DeliveryFailure> failure;
  std::vector<std::string> warnings;  // misconfigurations worth a log line
};

struct MxPlanLimits {
  std::size_t max_hosts = 10;
};

// Returns an index drawn uniformly from [0, n), n >= 1.
using RandomIndex = std::function<std::size_t(std::size_t n)>;

inline RandomIndex random_index_from(std::mt19937_64& engine) {
  return [&engine](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(engine);
  };
}

MxPlan plan_mx(const MxAnswer& answer, const RandomIndex& random_index,
               const MxPlanLimits& limits = {});

}  // namespace mailroom::dns
