// net/async_semaphore: a counting semaphore for coroutines on one single-threaded executor, for
// concurrency limits (outbound connections in all, and per destination). Waiters are served in
// arrival order; a release hands the permit straight to the oldest waiter. The number of permits
// may change at run time (concurrency feedback): fewer permits take effect as permits come back.
// Never: used from two threads, or destroyed while a coroutine waits in acquire().
#pragma once

#include <asio.hpp>
#include <cstddef>
#include <deque>
#include <memory>

#include "net/asio_tuple.hpp"

namespace mailroom::net {

class AsyncSemaphore {
 public:
  AsyncSemaphore(asio::any_io_executor ex, std::size_t permits)
      : ex_(std::move(ex)), permits_(permits) {}

  asio::awaitable<void> acquire() {
    if (in_use_ < permits_ && waiters_.empty()) {
      ++in_use_;
      co_return;
    }
    auto timer = std::make_shared<asio::steady_timer>(ex_, asio::steady_timer::time_point::max());
    waiters_.push_back(timer);
    // release() cancels the timer once it has handed this waiter a permit.
    co_await timer->async_wait(use_tuple);
  }

  void release() {
    if (in_use_ > 0) --in_use_;
    wake();
  }

  void set_permits(std::size_t permits) {
    permits_ = permits == 0 ? 1 : permits;
    wake();
  }

  std::size_t permits() const { return permits_; }
  std::size_t in_use() const { return in_use_; }
  std::size_t waiting() const { return waiters_.size(); }

 private:
  void wake() {
    while (in_use_ < permits_ && !waiters_.empty()) {
      ++in_use_;
      waiters_.front()->cancel();
      waiters_.pop_front();
    }
  }

  asio::any_io_executor ex_;
  std::size_t permits_;
  std::size_t in_use_ = 0;
  std::deque<std::shared_ptr<asio::steady_timer>> waiters_;
};

// Holds one permit until destroyed.
class SemaphorePermit {
 public:
  explicit SemaphorePermit(AsyncSemaphore& s) : s_(&s) {}
  ~SemaphorePermit() {
    if (s_) s_->release();
  }
  SemaphorePermit(SemaphorePermit&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  SemaphorePermit(const SemaphorePermit&) = delete;
  SemaphorePermit& operator=(const SemaphorePermit&) = delete;
  SemaphorePermit& operator=(SemaphorePermit&&) = delete;

 private:
  AsyncSemaphore* s_;
};

}  // namespace mailroom::net
