#include "dns/answer.hpp"

#include <algorithm>
#include <limits>
#include <optional>

namespace mailroom::dns {
namespace {

// RFC 2308 5: a negative answer may be cached for min(SOA TTL, SOA MINIMUM).
std::optional<std::uint32_t> negative_ttl_from_soa(const Message& response) {
  for (const auto& rr : response.authority) {
    if (const auto* soa = std::get_if<SoaData>(&rr.data)) return std::min(rr.ttl_s, soa->minimum);
  }
  return std::nullopt;
}

Answer negative(Answer answer, Status status, const Message& response, std::uint32_t chain_ttl,
                const TtlLimits& limits) {
  answer.status = status;
  std::uint32_t ttl = negative_ttl_from_soa(response).value_or(limits.default_negative_ttl_s);
  answer.ttl_s = std::min({ttl, chain_ttl, limits.max_negative_ttl_s});
  return answer;
}

}  // namespace

Answer failed_answer(std::string_view name, RrType type, Status status) {
  Answer answer;
  answer.name = std::string(name);
  answer.canonical_name = answer.name;
  answer.type = type;
  answer.status = status;
  return answer;
}

Answer interpret_response(const Message& response, std::string_view name, RrType type,
                          const TtlLimits& limits) {
  Answer answer = failed_answer(name, type, Status::TempError);
  switch (response.rcode) {
    case kRcodeNoError:
    case kRcodeNxDomain:
      break;
    case kRcodeServFail:
      answer.status = Status::ServFail;
      return answer;
    case kRcodeRefused:
      answer.status = Status::Refused;
      return answer;
    default:  // FORMERR, NOTIMP, and RCODEs we do not know: nothing to learn about the name
      return answer;
  }

  // Follow the CNAME chain from the question (RFC 1034 3.6.2, RFC 2181 10.1).
  std::uint32_t chain_ttl = std::numeric_limits<std::uint32_t>::max();
  std::string current(name);
  for (int hops = 0;; ++hops) {
    for (const auto& rr : response.answers)
      if (rr.type == type && rr.owner == current) answer.records.push_back(rr);
    if (!answer.records.empty() || type == RrType::CNAME) break;
    const std::string* next = nullptr;
    for (const auto& rr : response.answers) {
      if (rr.type == RrType::CNAME && rr.owner == current) {
        next = &std::get<std::string>(rr.data);
        chain_ttl = std::min(chain_ttl, rr.ttl_s);
        break;
      }
    }
    if (next == nullptr) break;
    if (hops == kMaxCnameHops) {
      answer.status = Status::Malformed;
      return answer;
    }
    current = *next;
  }
  answer.canonical_name = current;

  if (response.rcode == kRcodeNxDomain)
    return negative(std::move(answer), Status::NxDomain, response, chain_ttl, limits);
  if (answer.records.empty())
    return negative(std::move(answer), Status::NoData, response, chain_ttl, limits);

  std::uint32_t ttl = chain_ttl;
  for (const auto& rr : answer.records) ttl = std::min(ttl, rr.ttl_s);
  answer.status = Status::Ok;
  answer.ttl_s = std::min(ttl, limits.max_ttl_s);
  return answer;
}

}  // namespace mailroom::dns
