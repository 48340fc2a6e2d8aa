// server/shutdown: the orderly stop of `mailroom serve` on SIGTERM or SIGINT.
//
//   1. The listeners stop accepting.
//   2. A session waiting for a command gets "421 4.3.2 <host> Service shutting down" and is
//      closed. A session busy with something else (receiving DATA or a BDAT chunk, waiting for
//      its commit, a password check or a TLS handshake) finishes it, so a message whose end
//      arrives in time is committed and answered 250 as usual, and gets the 421 when it next
//      waits for a command. A session accepted after the signal gets the 421 as its greeting.
//   3. Sessions still open after [server] shutdown_grace_s, or as soon as a second signal comes,
//      are closed without a reply: their message was never acknowledged, so the client still
//      holds it (RFC 5321 4.1.1.4, 6.1).
//   4. When no session is left, the event loop ends; then the password pool is joined and the
//      queue stops (commits it holds are completed and answered first, deliveries in flight
//      finish), and `mailroom serve` exits 0.
// A message answered 250 is never lost by a shutdown: it was fsync'd before the reply.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <set>
#include <string>

namespace mailroom::server {

class Session;

// The live sessions of the server, touched only from its io thread.
class SessionRegistry {
 public:
  void add(Session* s);
  void remove(Session* s);
  std::size_t size() const { return sessions_.size(); }
  bool shutting_down() const { return shutting_down_; }

  // Step 2 for every live session, and for every later one.
  void begin_shutdown();
  // Step 3: closes every live session without a reply.
  void close_all(const std::string& why);
  // Runs `f` (once per call) when the registry becomes empty during a shutdown.
  void on_empty(std::function<void()> f) { on_empty_ = std::move(f); }

 private:
  std::set<Session*> sessions_;
  bool shutting_down_ = false;
  std::function<void()> on_empty_;
};

// Waits for the first SIGTERM/SIGINT on `signals`, then runs steps 1-3 and returns once no
// session is left; the caller stops the event loop and the queue (step 4). `stop_accepting`
// closes the listeners; `grace` is read when the signal comes (a reload may have changed it).
asio::awaitable<void> shutdown_on_signal(asio::signal_set& signals,
                                         std::function<void()> stop_accepting,
                                         SessionRegistry& sessions,
                                         std::function<std::chrono::seconds()> grace_period);

}  // namespace mailroom::server
