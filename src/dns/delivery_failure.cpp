#include "dns/delivery_failure.hpp"

#include <fmt/format.h>

namespace mailroom::dns {
namespace {

// Postfix's dns_strerror() texts for the h_errno each status corresponds to.
std::string_view reason(Status status) {
  switch (status) {
    case Status::NxDomain:
      return "Host not found";
    case Status::NoData:
      return "Host found but no data record of requested type";
    case Status::Malformed:
      return "Malformed or unexpected name server reply";
    case Status::BadName:
      return "Malformed domain name";
    default:
      return "Host not found, try again";
  }
}

DeliveryFailure failure(Status status, std::string_view name, std::string_view type,
                        std::string_view permanent_code) {
  DeliveryFailure f;
  f.permanent = !is_temporary(status);
  f.enhanced_status = f.permanent ? std::string(permanent_code) : "4.4.3";
  f.detail = std::string(to_string(status));
  if (status == Status::Malformed || status == Status::BadName) {
    f.text = fmt::format("Name service error for name={} type={}: {}", name, type, reason(status));
  } else {
    f.text =
        fmt::format("Host or domain name not found. Name service error for name={} type={}: {}",
                    name, type, reason(status));
  }
  return f;
}

}  // namespace

DeliveryFailure mx_lookup_failure(const MxAnswer& answer) {
  if (answer.status == Status::Ok) {  // only a null MX makes an Ok answer a failure
    return DeliveryFailure{true, "5.1.10",
                           fmt::format("Domain {} does not accept mail (nullMX)", answer.domain),
                           "nullmx"};
  }
  return failure(answer.status, answer.domain, "MX", "5.1.2");
}

DeliveryFailure host_lookup_failure(const AddressAnswer& answer) {
  bool ipv4_decided = answer.ipv4_status == answer.status;
  return failure(answer.status, answer.name, ipv4_decided ? "A" : "AAAA", "5.4.4");
}

DeliveryFailure combine_host_failures(const std::vector<DeliveryFailure>& failures) {
  for (const auto& f : failures)
    if (!f.permanent) return f;
  return failures.front();
}

}  // namespace mailroom::dns
