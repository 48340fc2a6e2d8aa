#include "server/listener_set.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace mailroom::server {

void ListenerSet::bind(const config::Config& cfg) {
  for (const auto& l : cfg.listeners) {
    auto endpoint = parse_endpoint(l.address);
    slots_.push_back(std::make_shared<ListenerSlot>(
        ListenerSlot{bind_listener(io_, l), endpoint, nullptr, false}));
  }
}

ListenerChanges ListenerSet::activate(std::shared_ptr<const Generation> gen,
                                      const ListenerServices& services) {
  const auto& cfg = *gen->cfg;
  std::vector<std::shared_ptr<ListenerSlot>> next;  // in cfg.listeners order
  std::vector<bool> fresh;
  std::vector<std::shared_ptr<ListenerSlot>> unused = slots_;
  try {
    for (const auto& l : cfg.listeners) {
      auto endpoint = parse_endpoint(l.address);
      auto held = std::find_if(unused.begin(), unused.end(),
                               [&](const auto& s) { return s->endpoint == endpoint; });
      if (held != unused.end()) {
        next.push_back(*held);
        fresh.push_back(false);
        unused.erase(held);
      } else {
        next.push_back(std::make_shared<ListenerSlot>(
            ListenerSlot{bind_listener(io_, l), endpoint, nullptr, false}));
        fresh.push_back(true);
      }
    }
    // The runtimes, before anything running changes (RecipientPolicy reads the directory).
    std::vector<std::shared_ptr<const ListenerRuntime>> runtimes;
    for (const auto& l : cfg.listeners)
      runtimes.push_back(std::make_shared<const ListenerRuntime>(ListenerRuntime{
          gen, cfg, l, services.directory, *services.queue, gen->tls.get(), *services.blocking_pool,
          *services.counts, *services.ledger, RecipientPolicy(l, *services.directory),
          util::parse_ranges(l.remote_ranges), *services.sessions,
          std::make_shared<ListenerMetrics>(l.name)}));

    ListenerChanges changes;
    for (std::size_t i = 0; i < next.size(); ++i) {
      auto& slot = *next[i];
      const auto& name = cfg.listeners[i].name;
      (fresh[i] || !slot.runtime ? changes.added : changes.kept).push_back(name);
      slot.runtime = runtimes[i];
      if (!slot.accepting) {
        slot.accepting = true;
        asio::co_spawn(io_, accept_loop(next[i]), asio::detached);
      }
    }
    for (auto& gone : unused) {
      changes.removed.push_back(gone->runtime ? gone->runtime->listener.name
                                              : gone->endpoint.address().to_string());
      std::error_code ignored;
      gone->acceptor.close(ignored);
    }
    slots_ = std::move(next);
    generation_ = std::move(gen);
    return changes;
  } catch (...) {
    for (std::size_t i = 0; i < next.size(); ++i)
      if (fresh[i]) {
        std::error_code ignored;
        next[i]->acceptor.close(ignored);
      }
    throw;
  }
}

void ListenerSet::close() {
  for (auto& slot : slots_) {
    std::error_code ignored;
    slot->acceptor.close(ignored);
  }
}

}  // namespace mailroom::server
