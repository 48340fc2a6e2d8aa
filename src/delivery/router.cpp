#include "delivery/router.hpp"

#include "smtp/address.hpp"

namespace mailroom::delivery {

const char* to_string(Transport t) {
  switch (t) {
    case Transport::Maildir:
      return "maildir";
    case Transport::Lmtp:
      return "lmtp";
    case Transport::Smtp:
      return "smtp";
  }
  return "smtp";
}

std::string smtp_nexthop_for(std::string_view address) {
  auto at = address.rfind('@');
  auto domain = at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
  if (!domain.empty() && domain.front() == '[') return std::string(domain);
  return smtp::normalize_domain(domain);
}

RouterOptions router_options(const config::DeliveryConfig& cfg) {
  RouterOptions o;
  if (cfg.local.rfind("lmtp:", 0) == 0) {
    o.local_transport = Transport::Lmtp;
    o.lmtp_nexthop = cfg.local.substr(5);  // "unix:/path" or "host:port"
  }
  o.relayhost = cfg.relayhost;
  return o;
}

Router::Router(RouterOptions options, std::shared_ptr<const directory::Directory> directory)
    : options_(std::move(options)), directory_(std::move(directory)) {}

Destination Router::remote(const std::string& address) const {
  Destination d;
  d.transport = Transport::Smtp;
  d.address = address;
  d.nexthop = options_.relayhost.empty() ? smtp_nexthop_for(address) : options_.relayhost;
  return d;
}

Route Router::route(std::string_view recipient) const {
  using Status = directory::Resolution::Status;
  const std::string address(recipient);
  Route route;
  auto res = directory_->resolve(address);
  switch (res.status) {
    case Status::NotLocal:
      route.destinations.push_back(remote(address));
      break;
    case Status::UnknownUser:
      route.failure = "5.1.1 <" + address + ">: user unknown";
      break;
    case Status::AliasError:
      route.failure = "5.4.6 <" + address + ">: " + res.error;
      break;
    case Status::Ok:
      for (auto& mb : res.mailboxes) {
        Destination d;
        d.transport = options_.local_transport;
        d.address = mb.address();
        d.nexthop = options_.local_transport == Transport::Lmtp ? options_.lmtp_nexthop : "";
        d.mailbox = std::move(mb);
        route.destinations.push_back(std::move(d));
      }
      for (const auto& forward : res.forwards) route.destinations.push_back(remote(forward));
      break;
  }
  return route;
}

}  // namespace mailroom::delivery
