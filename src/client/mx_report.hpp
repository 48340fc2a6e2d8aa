// client/mx_report: `mailroom mx DOMAIN` — what `nslookup -type=mx` shows (seed 000, 002), done
// right: the MX records by preference, each host's A/AAAA addresses and their PTR names, the
// cases nslookup leaves to the reader spelled out: a null MX (RFC 7505: the domain takes no
// mail), no MX at all (RFC 5321 5.1: mail goes to the domain's own address, the implicit MX),
// NXDOMAIN, SERVFAIL and timeouts, each named as such.
//
// The lookup is the delivery path's own resolver (dns/), so what this prints is what remote
// delivery will do. Rendering is separate from the lookup: text for people, JSON for scripts.
#pragma once

#include <asio.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dns/resolver.hpp"

namespace mailroom::client {

struct MxHostReport {
  std::string name;
  std::uint16_t preference = 0;
  bool implicit = false;  // the domain itself (no MX records)
  dns::Status address_status = dns::Status::Ok;
  struct Address {
    std::string ip;
    std::vector<std::string> ptr;  // reverse names; empty when there is none
    dns::Status ptr_status = dns::Status::Ok;
  };
  std::vector<Address> addresses;
};

struct MxReport {
  std::string domain;
  dns::Status mx_status = dns::Status::Ok;
  bool null_mx = false;
  bool implicit_mx = false;
  std::vector<MxHostReport> hosts;     // by preference (equal ones in answer order)
  std::optional<std::string> verdict;  // what it means for mail, when not plain "deliverable"
  bool deliverable() const;            // some host has an address
};

// Looks everything up; never throws for DNS failures (they are in the report).
asio::awaitable<MxReport> lookup_mx_report(dns::Resolver& resolver, std::string domain);

std::string render_text(const MxReport& report);
std::string render_json(const MxReport& report);

// Exit status for `mailroom mx`: 0 deliverable, 1 the domain takes no mail (null MX, NXDOMAIN,
// no address), 3 a temporary DNS failure (SERVFAIL, timeout).
int exit_status(const MxReport& report);

}  // namespace mailroom::client
