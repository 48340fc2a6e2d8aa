#include "dns/typed_answers.hpp"

#include <algorithm>

namespace mailroom::dns {
namespace {

void add_addresses(const Answer& answer, std::vector<asio::ip::address>& out) {
  if (answer.status != Status::Ok) return;
  for (const auto& rr : answer.records) {
    if (const auto* v4 = std::get_if<asio::ip::address_v4>(&rr.data)) out.emplace_back(*v4);
    if (const auto* v6 = std::get_if<asio::ip::address_v6>(&rr.data)) out.emplace_back(*v6);
  }
}

Status merged_status(Status ipv4, Status ipv6) {
  if (ipv4 == Status::Ok || ipv6 == Status::Ok) return Status::Ok;
  if (is_temporary(ipv4)) return ipv4;
  if (is_temporary(ipv6)) return ipv6;
  if (ipv4 == Status::BadName || ipv6 == Status::BadName) return Status::BadName;
  if (ipv4 == Status::NxDomain || ipv6 == Status::NxDomain) return Status::NxDomain;
  return Status::NoData;
}

}  // namespace

MxAnswer to_mx_answer(const Answer& answer) {
  MxAnswer out;
  out.domain = answer.name;
  out.status = answer.status;
  out.ttl_s = answer.ttl_s;
  out.from_cache = answer.from_cache;
  for (const auto& rr : answer.records) {
    if (const auto* mx = std::get_if<MxData>(&rr.data))
      out.records.push_back(MxRecord{mx->preference, mx->exchange});
  }
  std::stable_sort(
      out.records.begin(), out.records.end(),
      [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
  out.null_mx =
      out.status == Status::Ok && out.records.size() == 1 && out.records.front().exchange == ".";
  return out;
}

AddressAnswer to_address_answer(const Answer& answer) {
  AddressAnswer out;
  out.name = answer.name;
  out.status = answer.status;
  bool v6 = answer.type == RrType::AAAA;
  out.ipv4_status = v6 ? Status::NoData : answer.status;
  out.ipv6_status = v6 ? answer.status : Status::NoData;
  out.ttl_s = answer.ttl_s;
  out.canonical_name = answer.canonical_name;
  out.from_cache = answer.from_cache;
  add_addresses(answer, out.addresses);
  return out;
}

AddressAnswer merge_address_answers(const Answer& ipv4, const Answer& ipv6) {
  AddressAnswer out;
  out.name = ipv4.name;
  out.ipv4_status = ipv4.status;
  out.ipv6_status = ipv6.status;
  out.status = merged_status(ipv4.status, ipv6.status);
  out.ttl_s = std::min(ipv4.ttl_s, ipv6.ttl_s);
  out.canonical_name = ipv4.status == Status::Ok ? ipv4.canonical_name : ipv6.canonical_name;
  out.from_cache = ipv4.from_cache && ipv6.from_cache;
  add_addresses(ipv4, out.addresses);
  add_addresses(ipv6, out.addresses);
  return out;
}

PtrAnswer to_ptr_answer(const asio::ip::address& address, const Answer& answer) {
  PtrAnswer out;
  out.address = address;
  out.name = answer.name;
  out.status = answer.status;
  out.ttl_s = answer.ttl_s;
  out.from_cache = answer.from_cache;
  for (const auto& rr : answer.records) {
    if (const auto* host = std::get_if<std::string>(&rr.data)) out.hosts.push_back(*host);
  }
  return out;
}

TxtAnswer to_txt_answer(const Answer& answer) {
  TxtAnswer out;
  out.name = answer.name;
  out.status = answer.status;
  out.ttl_s = answer.ttl_s;
  out.from_cache = answer.from_cache;
  for (const auto& rr : answer.records) {
    if (const auto* txt = std::get_if<TxtData>(&rr.data)) out.records.push_back(*txt);
  }
  return out;
}

}  // namespace mailroom::dns
