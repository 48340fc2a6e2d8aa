#include "dns/mx_plan.hpp"

#include <algorithm>
#include <unordered_set>

namespace mailroom::dns {
namespace {

// Fisher-Yates over each run of equal preference; `hosts` is sorted by preference.
void shuffle_equal_preferences(std::vector<MxHost>& hosts, const RandomIndex& random_index) {
  std::size_t begin = 0;
  while (begin < hosts.size()) {
    std::size_t end = begin + 1;
    while (end < hosts.size() && hosts[end].preference == hosts[begin].preference) ++end;
    for (std::size_t i = end - begin; i > 1; --i) {
      std::size_t j = random_index(i) % i;
      std::swap(hosts[begin + i - 1], hosts[begin + j]);
    }
    begin = end;
  }
}

MxPlan null_mx(const MxAnswer& answer) {
  MxAnswer as_null = answer;
  as_null.null_mx = true;
  MxPlan plan;
  plan.failure = mx_lookup_failure(as_null);
  return plan;
}

}  // namespace

MxPlan plan_mx(const MxAnswer& answer, const RandomIndex& random_index,
               const MxPlanLimits& limits) {
  MxPlan plan;
  if (answer.status == Status::NoData) {
    plan.hosts.push_back(MxHost{answer.domain, 0, true, std::nullopt});
    return plan;
  }
  if (answer.status != Status::Ok) {
    plan.failure = mx_lookup_failure(answer);
    return plan;
  }
  if (answer.null_mx) return null_mx(answer);

  std::vector<MxRecord> records = answer.records;
  std::stable_sort(records.begin(), records.end(), [](const MxRecord& a, const MxRecord& b) {
    return a.preference < b.preference;
  });
  std::unordered_set<std::string> seen;
  for (const auto& record : records) {
    if (record.exchange == ".") {
      plan.warnings.push_back("null MX \".\" listed beside other MX records for " + answer.domain +
                              " (RFC 7505 3): ignored");
      continue;
    }
    if (!seen.insert(record.exchange).second) continue;
    MxHost host{record.exchange, record.preference, false, std::nullopt};
    asio::error_code ec;
    auto address = asio::ip::make_address(record.exchange, ec);
    if (!ec) {
      host.literal = address;
      plan.warnings.push_back("numeric domain name in resource data of MX record for " +
                              answer.domain + ": " + record.exchange);
    }
    plan.hosts.push_back(std::move(host));
  }
  if (plan.hosts.empty()) return null_mx(answer);  // every record was "."

  shuffle_equal_preferences(plan.hosts, random_index);
  std::size_t max_hosts = std::max<std::size_t>(limits.max_hosts, 1);
  if (plan.hosts.size() > max_hosts) {
    plan.warnings.push_back("MX list for " + answer.domain + " has " +
                            std::to_string(plan.hosts.size()) + " hosts: trying the first " +
                            std::to_string(max_hosts));
    plan.hosts.resize(max_hosts);
  }
  return plan;
}

}  // namespace mailroom::dns
