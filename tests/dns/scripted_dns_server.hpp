// A UDP "DNS server" on 127.0.0.1 that answers each query the way a test scripts it: not at all
// (timeouts), with an RCODE (SERVFAIL, REFUSED), or with any bytes built from the query. It runs
// on its own thread, so the resolver's io_context sees a real, independent server.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "packet_builder.hpp"

namespace mailroom::dns::testing {

// The query's header and question, turned into a response with `rcode` and empty sections
// (the query's EDNS OPT record is left out).
inline Bytes reply_with_rcode(const Bytes& query, std::uint8_t rcode) {
  std::size_t end = 12;
  while (end < query.size() && query[end] != 0) end += query[end] + 1u;
  end = std::min(end + 5, query.size());  // root label, QTYPE, QCLASS
  Bytes out(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(end));
  out[2] = static_cast<std::uint8_t>(0x80 | (query[2] & 0x01));  // QR, keep RD
  out[3] = static_cast<std::uint8_t>(0x80 | rcode);              // RA
  for (std::size_t i = 6; i < 12; ++i) out[i] = 0;               // AN, NS, AR counts
  return out;
}

class ScriptedDnsServer {
 public:
  // nullopt: stay silent.
  using Responder = std::function<std::optional<Bytes>(const Bytes& query)>;

  explicit ScriptedDnsServer(Responder responder) : responder_(std::move(responder)) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedDnsServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  ScriptedDnsServer(const ScriptedDnsServer&) = delete;
  ScriptedDnsServer& operator=(const ScriptedDnsServer&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int queries() const { return queries_; }

  static Responder silent() {
    return [](const Bytes&) { return std::nullopt; };
  }
  static Responder rcode(std::uint8_t code) {
    return [code](const Bytes& q) { return std::optional<Bytes>(reply_with_rcode(q, code)); };
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) != 1) continue;
      Bytes query(4096);
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n =
          recvfrom(fd_, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12) continue;
      query.resize(static_cast<std::size_t>(n));
      ++queries_;
      if (auto reply = responder_(query))
        sendto(fd_, reply->data(), reply->size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }

  Responder responder_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

}  // namespace mailroom::dns::testing
