// server/listener_set: the bound receive connectors of a running server, and what a reload does
// to them.
//
// A listener is known by its bound endpoint, not its name. Activating a configuration keeps the
// socket of every endpoint it still names (no connection is refused while a reload runs) and
// gives it the new settings for its next sessions, binds the endpoints that are new, and closes
// the ones it no longer names (their live sessions finish with the settings they have).
// Activation happens whole or not at all: when a new endpoint cannot be bound or a listener's
// runtime cannot be made, what was bound for it is closed again and the running set is as before.
// Never: binds an endpoint it already holds (a second bind of a listening port fails; closing it
// first would refuse connections meanwhile); changes a live session's settings.
// Touched only from the server's io thread.
#pragma once

#include <asio.hpp>
#include <memory>
#include <string>
#include <vector>

#include "server/listener.hpp"

namespace mailroom::server {

// What lives for the whole run, shared by every generation's listeners.
struct ListenerServices {
  std::shared_ptr<directory::Directory> directory;
  queue::Queue* queue = nullptr;
  asio::thread_pool* blocking_pool = nullptr;
  ConnectionCounts* counts = nullptr;
  ClientLedger* ledger = nullptr;
  SessionRegistry* sessions = nullptr;
};

// Listener names, for the log.
struct ListenerChanges {
  std::vector<std::string> added;    // endpoints bound by this activation
  std::vector<std::string> kept;     // endpoints kept, with the new settings
  std::vector<std::string> removed;  // endpoints closed
};

class ListenerSet {
 public:
  explicit ListenerSet(asio::io_context& io) : io_(io) {}

  // Binds every listener of `cfg` without accepting yet (at start, before root privileges are
  // dropped, so that port 25 can be bound). Throws std::runtime_error naming the one that failed.
  void bind(const config::Config& cfg);

  // Makes `gen`'s listeners the running ones (see above) and accepts on them; throws
  // std::runtime_error, having changed nothing, when that cannot be done whole.
  ListenerChanges activate(std::shared_ptr<const Generation> gen, const ListenerServices& services);

  // Stops accepting on every listener (the shutdown's first step).
  void close();

  // The generation last activated (null before the first).
  std::shared_ptr<const Generation> generation() const { return generation_; }

 private:
  asio::io_context& io_;
  std::vector<std::shared_ptr<ListenerSlot>> slots_;
  std::shared_ptr<const Generation> generation_;
};

}  // namespace mailroom::server
