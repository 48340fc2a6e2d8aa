// dns/ares_channel: one c-ares channel driven by the Asio event loop.
//
// c-ares 1.18 has no thread of its own: it owns the sockets, the retries and the protocol, and
// needs to be told when a socket is ready and when the next timeout is due. It reports each
// socket's wanted events through ARES_OPT_SOCK_STATE_CB; each socket is watched with an
// asio::posix::stream_descriptor (async_wait read/write, never owning the fd), readiness is
// handed back with ares_process_fd, and one steady_timer follows ares_timeout().
//
// Asio's epoll reactor is edge-triggered, and c-ares reads a TCP answer in several calls (length
// first, then the body), so after each read the socket is polled once more (poll(2), zero
// timeout) and processed again, through the event loop, while it stays readable. (An
// EPOLL_CTL_MOD for write interest often re-reports the data anyway; this does not rely on it.)
//
// Flags: ARES_FLAG_NOCHECKRESP, because without it c-ares 1.18 retries a SERVFAIL or REFUSED
// answer and finally reports ARES_ECONNREFUSED, losing the RCODE (with several servers this means
// a SERVFAIL from the first one is final for that lookup). ARES_FLAG_EDNS with a 1232-octet
// payload (the 2020 DNS flag day size) so TXT records for DKIM rarely need TCP; c-ares retries
// over TCP on truncation and without EDNS on FORMERR.
//
// Contract: single-threaded, like the server's io_context(1): every call, and every callback,
// happens on the executor's one thread. Held by std::shared_ptr; pending handlers hold weak_ptrs,
// so a handler that runs after the channel is gone does nothing.
// Never: block (sockets are c-ares' non-blocking ones, poll(2) uses a zero timeout), close a
// c-ares socket (release(), not close()), or let an exception cross back into c-ares.
#pragma once

#include <ares.h>

#include <asio/any_io_executor.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "dns/resolver_options.hpp"
#include "dns/wire.hpp"

namespace mailroom::dns {

class AresChannel : public std::enable_shared_from_this<AresChannel> {
 public:
  // The c-ares status (ARES_SUCCESS, ARES_ENOTFOUND, ARES_ETIMEOUT...) and, when a server
  // answered, its response. Runs inline, from inside c-ares: it must not call back into the
  // channel, and must not throw.
  using Callback = std::function<void(int ares_status, std::span<const std::uint8_t> response)>;

  // Throws std::invalid_argument naming a bad server address, std::runtime_error when c-ares
  // cannot start (e.g. out of memory).
  static std::shared_ptr<AresChannel> create(asio::any_io_executor executor,
                                             const ResolverOptions& options);
  // Pending queries complete inline with ARES_EDESTRUCTION.
  ~AresChannel();
  AresChannel(const AresChannel&) = delete;
  AresChannel& operator=(const AresChannel&) = delete;

  // Sends one query, class IN, recursion desired, no search list. `done` may run before this
  // returns (a name c-ares cannot encode).
  void query(const std::string& name, RrType type, Callback done);

 private:
  struct Watch {
    asio::posix::stream_descriptor descriptor;
    std::uint64_t generation = 0;  // tells this socket from a later one with the same fd number
    bool want_read = false;
    bool want_write = false;
    bool read_armed = false;
    bool write_armed = false;
    bool read_recheck_posted = false;
  };
  enum class Direction { Read, Write };

  explicit AresChannel(asio::any_io_executor executor);
  void start(const ResolverOptions& options);

  static void on_socket_state(void* self, ares_socket_t fd, int readable, int writable) noexcept;
  static void on_query_done(void* done, int status, int timeouts, unsigned char* response,
                            int length) noexcept;

  void watch(int fd, bool readable, bool writable);
  void arm(int fd);
  void on_ready(int fd, std::uint64_t generation, Direction direction, const asio::error_code& ec);
  void on_recheck(int fd, std::uint64_t generation);
  void process(int read_fd, int write_fd);
  void schedule_timeout();

  asio::any_io_executor executor_;
  asio::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;
  std::unordered_map<int, Watch> watches_;
  std::uint64_t next_generation_ = 0;
  ares_channel channel_ = nullptr;
  bool destroying_ = false;
};

}  // namespace mailroom::dns
