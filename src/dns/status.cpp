#include "dns/status.hpp"

namespace mailroom::dns {

std::string_view to_string(Status status) {
  switch (status) {
    case Status::Ok:
      return "ok";
    case Status::NoData:
      return "nodata";
    case Status::NxDomain:
      return "nxdomain";
    case Status::ServFail:
      return "servfail";
    case Status::Timeout:
      return "timeout";
    case Status::Refused:
      return "refused";
    case Status::TempError:
      return "temperror";
    case Status::Malformed:
      return "malformed";
    case Status::BadName:
      return "badname";
    case Status::Cancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace mailroom::dns
