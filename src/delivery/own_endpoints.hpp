// delivery/own_endpoints: whether an address a next hop resolved to is one of our own listeners,
// so mail sent there would come straight back (a loop; the agent fails it with 5.4.6).
//
// The port must match (tests run several servers on loopback); a listener on an unspecified
// address (0.0.0.0, ::) stands for loopback and every address of the machine's interfaces, read
// once when the agent starts.
// Never: calls an address ours without a listener on its port.
#pragma once

#include <asio/ip/tcp.hpp>
#include <vector>

namespace mailroom::delivery {

class OwnEndpoints {
 public:
  explicit OwnEndpoints(std::vector<asio::ip::tcp::endpoint> listeners);
  bool contains(const asio::ip::tcp::endpoint& ep) const;

 private:
  std::vector<asio::ip::tcp::endpoint> listeners_;
  std::vector<asio::ip::address> local_addresses_;
};

}  // namespace mailroom::delivery
