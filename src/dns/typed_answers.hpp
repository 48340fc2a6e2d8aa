// dns/typed_answers: the generic Answer seen as what each caller asks for: mail exchangers
// (RFC 5321 5.1, RFC 7505), host addresses, reverse names, TXT records (SPF/DKIM).
//
// Each keeps the status and the remaining TTL of the answer it was made from, so a caller can
// tell NXDOMAIN from NODATA from a temporary failure, and knows how long it may rely on it.
// Never: drop a record the caller could act on, or invent one.
#pragma once

#include <asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "dns/answer.hpp"

namespace mailroom::dns {

struct MxRecord {
  std::uint16_t preference = 0;
  std::string exchange;  // a host name; "." only in a null MX
  bool operator==(const MxRecord&) const = default;
};

struct MxAnswer {
  std::string domain;
  Status status = Status::TempError;
  std::uint32_t ttl_s = 0;
  std::vector<MxRecord> records;  // by preference, answer order among equals
  // RFC 7505 3: the only MX record names the root ("0 ."): the domain accepts no mail. Set only
  // when status is Ok. A "." beside other MX records is a misconfiguration, not a null MX: the
  // MX plan (dns/mx_plan) skips it and uses the others.
  bool null_mx = false;
  bool from_cache = false;
};

struct AddressAnswer {
  std::string name;
  // Ok when either family has an address; otherwise the temporary failure of either family if
  // there is one (a soft error dominates, as in Postfix), else NxDomain, else NoData.
  Status status = Status::TempError;
  Status ipv4_status = Status::TempError;
  Status ipv6_status = Status::TempError;
  std::uint32_t ttl_s = 0;
  std::string canonical_name;                // != name when the name is an alias (CNAME)
  std::vector<asio::ip::address> addresses;  // A records first, then AAAA, each in answer order
  bool from_cache = false;
};

struct PtrAnswer {
  asio::ip::address address;
  std::string name;  // the reverse name that was asked about
  Status status = Status::TempError;
  std::uint32_t ttl_s = 0;
  std::vector<std::string> hosts;
  bool from_cache = false;
};

struct TxtAnswer {
  std::string name;
  Status status = Status::TempError;
  std::uint32_t ttl_s = 0;
  std::vector<TxtData> records;  // each record keeps its strings; TxtData::joined() for SPF/DKIM
  bool from_cache = false;
};

MxAnswer to_mx_answer(const Answer& answer);
// For a lookup of one family (A or AAAA); the other family's status reads NoData.
AddressAnswer to_address_answer(const Answer& answer);
AddressAnswer merge_address_answers(const Answer& ipv4, const Answer& ipv6);
PtrAnswer to_ptr_answer(const asio::ip::address& address, const Answer& answer);
TxtAnswer to_txt_answer(const Answer& answer);

}  // namespace mailroom::dns
