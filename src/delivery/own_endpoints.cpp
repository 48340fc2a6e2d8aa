#include "delivery/own_endpoints.hpp"

#include <ifaddrs.h>

#include <algorithm>

namespace mailroom::delivery {

namespace {

std::vector<asio::ip::address> local_addresses() {
  std::vector<asio::ip::address> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (auto* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      out.push_back(asio::ip::address_v4(ntohl(sin->sin_addr.s_addr)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      asio::ip::address_v6::bytes_type bytes;
      std::copy(std::begin(sin6->sin6_addr.s6_addr), std::end(sin6->sin6_addr.s6_addr),
                bytes.begin());
      out.push_back(asio::ip::address_v6(bytes));
    }
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace

OwnEndpoints::OwnEndpoints(std::vector<asio::ip::tcp::endpoint> listeners)
    : listeners_(std::move(listeners)), local_addresses_(local_addresses()) {}

bool OwnEndpoints::contains(const asio::ip::tcp::endpoint& ep) const {
  for (const auto& own : listeners_) {
    if (own.port() != ep.port()) continue;
    if (own.address() == ep.address()) return true;
    if (own.address().is_unspecified() &&
        (ep.address().is_loopback() || std::find(local_addresses_.begin(), local_addresses_.end(),
                                                 ep.address()) != local_addresses_.end()))
      return true;
  }
  return false;
}

}  // namespace mailroom::delivery
