// A private dnsmasq serving the test zone example.test on 127.0.0.1 and a free port (UDP and TCP),
// started by the resolver tests and killed (by its pid) when they end. /etc/resolv.conf on the
// test machines names a server that cannot be reached, so no test asks it anything.
//
// A missing dnsmasq is a failure, not a skip: the tests of the resolver would otherwise pass
// without resolving anything. Debian's dnsmasq-base provides it (scripts/deps.sh --test).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "packet_builder.hpp"

extern char** environ;

namespace mailroom::dns::testing {

// Six strings of 250 octets: 1.5 KB, more than an EDNS UDP answer of 1232 may carry, so c-ares
// must retry over TCP.
inline std::string big_txt_part(int i) { return std::string(250, static_cast<char>('a' + i)); }

// The records every resolver test may rely on.
inline std::vector<std::string> example_test_zone() {
  std::string big = "--txt-record=big.example.test";
  for (int i = 0; i < 6; ++i) big += "," + big_txt_part(i);
  return {
      "--local=/test/",  // NXDOMAIN for every other name under .test
      "--local-ttl=300",
      // Two MX at preference 10, one at 20.
      "--mx-host=example.test,mx1.example.test,10",
      "--mx-host=example.test,mx2.example.test,10",
      "--mx-host=example.test,mx3.example.test,20",
      "--host-record=mx1.example.test,192.0.2.10,2001:db8::10",  // A, AAAA and both PTRs
      "--host-record=mx2.example.test,192.0.2.11",
      "--host-record=mx3.example.test,192.0.2.12",
      // No MX, an A: the implicit MX of RFC 5321 5.1.
      "--host-record=nomx.example.test,192.0.2.20",
      // RFC 7505 null MX.
      "--mx-host=nullmx.example.test,.,0",
      // IPv6 only.
      "--host-record=v6only.example.test,2001:db8::30",
      // An MX whose exchange is an alias (RFC 2181 10.3 says it must not be).
      "--mx-host=cnamemx.example.test,alias.example.test,10",
      "--cname=alias.example.test,mx1.example.test",
      "--ptr-record=99.2.0.192.in-addr.arpa,mail.example.test",
      "--txt-record=example.test,v=spf1 mx -all",
      "--txt-record=multi.example.test,first string,second string,third",
      big,
  };
}

class DnsmasqServer {
 public:
  static constexpr const char* kBinary = "/usr/sbin/dnsmasq";

  DnsmasqServer() = default;
  DnsmasqServer(const DnsmasqServer&) = delete;
  DnsmasqServer& operator=(const DnsmasqServer&) = delete;
  ~DnsmasqServer() { stop(); }

  // Empty on success, else why dnsmasq is not serving.
  std::string start(const std::vector<std::string>& records) {
    if (!std::filesystem::exists(kBinary))
      return std::string(kBinary) + " not found: install Debian package dnsmasq-base";
    char dir[] = "/tmp/mailroom-dnsmasq-XXXXXX";
    if (!mkdtemp(dir)) return "mkdtemp failed";
    log_path_ = std::string(dir) + "/dnsmasq.log";
    dir_ = dir;
    std::string why;
    for (int attempt = 0; attempt < 5; ++attempt) {  // a free port may be taken before we bind
      port_ = free_port();
      why = launch(records);
      if (why.empty()) return why;
      stop_process();
    }
    return why;
  }

  void stop() {
    stop_process();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  // A port free for both UDP and TCP on 127.0.0.1 at the time of asking.
  static std::uint16_t free_port() {
    for (;;) {
      int udp = socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof addr;
      bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      getsockname(udp, reinterpret_cast<sockaddr*>(&addr), &len);
      int tcp = socket(AF_INET, SOCK_STREAM, 0);
      bool tcp_free = bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      close(tcp);
      close(udp);
      if (tcp_free) return ntohs(addr.sin_port);
    }
  }

  std::string launch(const std::vector<std::string>& records) {
    std::vector<std::string> args = {kBinary,
                                     "--no-daemon",
                                     "--conf-file=/dev/null",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--port=" + std::to_string(port_)};
    args.insert(args.end(), records.begin(), records.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    int rc = posix_spawn(&pid_, kBinary, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      return "posix_spawn dnsmasq failed";
    }
    // Ready when it answers; gone if it exited (e.g. the port was taken after all).
    for (int i = 0; i < 100; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "dnsmasq exited: " + log_tail();
      }
      if (answers()) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "dnsmasq did not answer within 5 s: " + log_tail();
  }

  bool answers() const {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    Bytes query = PacketBuilder(7, 0x0100).question("example.test", 15).bytes();
    sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    pollfd p{fd, POLLIN, 0};
    bool ok = poll(&p, 1, 100) == 1 && (p.revents & POLLIN) != 0 &&
              recv(fd, query.data(), query.size(), 0) > 0;
    close(fd);
    return ok;
  }

  void stop_process() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string log_tail() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    auto text = s.str();
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
  }

  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string dir_;
  std::string log_path_;
};

}  // namespace mailroom::dns::testing
