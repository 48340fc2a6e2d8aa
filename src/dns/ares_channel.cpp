#include "dns/ares_channel.hpp"

#include <arpa/inet.h>
#include <poll.h>

#include <algorithm>
#include <asio/post.hpp>
#include <chrono>
#include <stdexcept>
#include <vector>

namespace mailroom::dns {
namespace {

constexpr int kClassIn = 1;
constexpr int kEdnsPayloadOctets = 1232;

// Edge-triggered readiness is reported once; this asks the kernel whether data is still there.
bool readable_now(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

std::vector<ServerAddress> parse_servers(const std::vector<std::string>& servers) {
  std::vector<ServerAddress> out;
  for (const auto& text : servers) {
    auto server = parse_server_address(text);
    if (!server)
      throw std::invalid_argument("dns server \"" + text + "\" is not IP[:port] or [IPv6]:port");
    out.push_back(*server);
  }
  return out;
}

}  // namespace

std::shared_ptr<AresChannel> AresChannel::create(asio::any_io_executor executor,
                                                 const ResolverOptions& options) {
  std::shared_ptr<AresChannel> channel(new AresChannel(std::move(executor)));
  channel->start(options);
  return channel;
}

AresChannel::AresChannel(asio::any_io_executor executor)
    : executor_(executor), timer_(std::move(executor)) {}

void AresChannel::start(const ResolverOptions& options) {
  static const int library_status = ares_library_init(ARES_LIB_INIT_ALL);
  if (library_status != ARES_SUCCESS)
    throw std::runtime_error(std::string("c-ares: ") + ares_strerror(library_status));
  // Parsed by us rather than by ares_set_servers_ports_csv, so a bad entry is named in the error.
  std::vector<ServerAddress> servers = parse_servers(options.servers);

  ares_options opts{};
  opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_EDNS;
  opts.timeout = static_cast<int>(std::max<std::uint32_t>(options.timeout_ms, 1));
  opts.tries = static_cast<int>(std::max<std::uint32_t>(options.tries, 1));
  opts.sock_state_cb = &AresChannel::on_socket_state;
  opts.sock_state_cb_data = this;
  opts.ednspsz = kEdnsPayloadOctets;
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
             ARES_OPT_EDNSPSZ;
  int status = ares_init_options(&channel_, &opts, mask);
  if (status != ARES_SUCCESS) {
    channel_ = nullptr;
    throw std::runtime_error(std::string("c-ares: ") + ares_strerror(status));
  }
  if (servers.empty()) return;  // c-ares read /etc/resolv.conf

  std::vector<ares_addr_port_node> nodes(servers.size());
  for (std::size_t i = 0; i < servers.size(); ++i) {
    ares_addr_port_node& node = nodes[i];
    node.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
    node.udp_port = servers[i].port;
    node.tcp_port = servers[i].port;
    if (inet_pton(AF_INET, servers[i].ip.c_str(), &node.addr.addr4) == 1) {
      node.family = AF_INET;
    } else {
      node.family = AF_INET6;
      inet_pton(AF_INET6, servers[i].ip.c_str(), &node.addr.addr6);
    }
  }
  status = ares_set_servers_ports(channel_, nodes.data());
  if (status != ARES_SUCCESS)
    throw std::runtime_error(std::string("c-ares: setting servers: ") + ares_strerror(status));
}

AresChannel::~AresChannel() {
  destroying_ = true;
  if (channel_ != nullptr) ares_destroy(channel_);  // closes its sockets: watches_ empties
  for (auto& [fd, watch] : watches_) watch.descriptor.release();
}

void AresChannel::query(const std::string& name, RrType type, Callback done) {
  auto* heap = new Callback(std::move(done));
  ares_query(channel_, name.c_str(), kClassIn, static_cast<int>(type), &AresChannel::on_query_done,
             heap);
  schedule_timeout();
}

void AresChannel::on_query_done(void* done, int status, int /*timeouts*/, unsigned char* response,
                                int length) noexcept {
  std::unique_ptr<Callback> callback(static_cast<Callback*>(done));
  std::span<const std::uint8_t> bytes;
  if (response != nullptr && length > 0) bytes = {response, static_cast<std::size_t>(length)};
  (*callback)(status, bytes);
}

void AresChannel::on_socket_state(void* self, ares_socket_t fd, int readable,
                                  int writable) noexcept {
  static_cast<AresChannel*>(self)->watch(fd, readable != 0, writable != 0);
}

void AresChannel::watch(int fd, bool readable, bool writable) {
  auto it = watches_.find(fd);
  if (!readable && !writable) {
    // c-ares closes the fd right after this call; stop watching it first. Pending waits complete
    // with operation_aborted and find a different generation (or none) under this fd.
    if (it != watches_.end()) {
      it->second.descriptor.release();
      watches_.erase(it);
    }
    return;
  }
  if (it == watches_.end()) {
    asio::posix::stream_descriptor descriptor(executor_);
    asio::error_code ec;
    descriptor.assign(fd, ec);
    if (ec) return;  // not for a socket; c-ares' own timeout still ends its queries
    it = watches_.emplace(fd, Watch{std::move(descriptor), ++next_generation_}).first;
  }
  it->second.want_read = readable;
  it->second.want_write = writable;
  if (!destroying_) arm(fd);
}

void AresChannel::arm(int fd) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  Watch& w = it->second;
  std::weak_ptr<AresChannel> self = weak_from_this();
  std::uint64_t generation = w.generation;
  if (w.want_read && !w.read_armed) {
    w.read_armed = true;
    w.descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                            [self, fd, generation](const asio::error_code& ec) {
                              if (auto channel = self.lock())
                                channel->on_ready(fd, generation, Direction::Read, ec);
                            });
  }
  if (w.want_write && !w.write_armed) {
    w.write_armed = true;
    w.descriptor.async_wait(asio::posix::descriptor_base::wait_write,
                            [self, fd, generation](const asio::error_code& ec) {
                              if (auto channel = self.lock())
                                channel->on_ready(fd, generation, Direction::Write, ec);
                            });
  }
  if (w.want_read && !w.read_recheck_posted && readable_now(fd)) {
    w.read_recheck_posted = true;
    asio::post(executor_, [self, fd, generation] {
      if (auto channel = self.lock()) channel->on_recheck(fd, generation);
    });
  }
}

void AresChannel::on_ready(int fd, std::uint64_t generation, Direction direction,
                           const asio::error_code& ec) {
  auto it = watches_.find(fd);
  if (it == watches_.end() || it->second.generation != generation) return;  // socket closed
  Watch& w = it->second;
  bool wanted = direction == Direction::Read ? w.want_read : w.want_write;
  (direction == Direction::Read ? w.read_armed : w.write_armed) = false;
  // Only release() aborts a wait, and it also removes the watch; nothing to do.
  if (ec == asio::error::operation_aborted) return;
  if (wanted) {
    process(direction == Direction::Read ? fd : ARES_SOCKET_BAD,
            direction == Direction::Write ? fd : ARES_SOCKET_BAD);
  }
  arm(fd);
  schedule_timeout();
}

void AresChannel::on_recheck(int fd, std::uint64_t generation) {
  auto it = watches_.find(fd);
  if (it == watches_.end() || it->second.generation != generation) return;
  it->second.read_recheck_posted = false;
  if (it->second.want_read && readable_now(fd)) process(fd, ARES_SOCKET_BAD);
  arm(fd);
  schedule_timeout();
}

void AresChannel::process(int read_fd, int write_fd) {
  ares_process_fd(channel_, read_fd, write_fd);
}

void AresChannel::schedule_timeout() {
  if (destroying_) return;
  ++timer_generation_;
  timeval tv{};
  timeval* next = ares_timeout(channel_, nullptr, &tv);
  if (next == nullptr) {  // no query pending
    timer_.cancel();
    return;
  }
  timer_.expires_after(std::chrono::seconds(next->tv_sec) +
                       std::chrono::microseconds(next->tv_usec));
  timer_.async_wait(
      [self = weak_from_this(), generation = timer_generation_](const asio::error_code& ec) {
        if (ec) return;
        auto channel = self.lock();
        if (!channel || channel->timer_generation_ != generation) return;
        channel->process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // expires the queries that timed out
        channel->schedule_timeout();
      });
}

}  // namespace mailroom::dns
