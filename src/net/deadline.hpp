// net/deadline: a time limit for whatever a coroutine awaits next, Asio 1.22 style (no
// cancel_after): arm() starts a timer; if it fires before disarm(), `on_expiry` runs — typically
// closing the socket, which completes the pending read or write with an error — and expired()
// says that this, not the peer, ended it. Safe to destroy with a wait pending.
// Single-threaded: use from the executor the timer runs on.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace mailroom::net {

class Deadline {
 public:
  explicit Deadline(asio::any_io_executor ex) : state_(std::make_shared<State>(std::move(ex))) {}
  ~Deadline() { state_->timer.cancel(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void arm(std::chrono::milliseconds timeout, std::function<void()> on_expiry) {
    auto& s = *state_;
    s.expired = false;
    s.on_expiry = std::move(on_expiry);
    const auto generation = ++s.generation;
    s.timer.expires_after(timeout);
    s.timer.async_wait([weak = std::weak_ptr<State>(state_), generation](std::error_code ec) {
      auto state = weak.lock();
      if (!state || ec || state->generation != generation) return;
      state->expired = true;
      if (state->on_expiry) state->on_expiry();
    });
  }
  void disarm() {
    ++state_->generation;
    state_->timer.cancel();
  }
  bool expired() const { return state_->expired; }

 private:
  struct State {
    explicit State(asio::any_io_executor ex) : timer(std::move(ex)) {}
    asio::steady_timer timer;
    std::uint64_t generation = 0;
    bool expired = false;
    std::function<void()> on_expiry;
  };
  std::shared_ptr<State> state_;
};

}  // namespace mailroom::net
