// queue/retry_policy: when a deferred recipient is tried again, and when the queue gives up.
//
// Rules (Postfix's qmgr defaults, all from [queue]):
//   - a new message is tried at once;
//   - after the n-th failed attempt the next one is min_backoff_s * 2^(n-1) later, capped at
//     max_backoff_s (300, 600, 1200, 2400, 4000, 4000, ... seconds by default);
//   - once a message has been queued for max_lifetime_s (5 days), a recipient that is deferred
//     again fails instead (status 4.4.7, RFC 3463 "delivery time expired"), which bounces it.
// Pure functions of the clock value they are given: tests never sleep.
#pragma once

#include <cstdint>

#include "config/config.hpp"

namespace mailroom::queue {

class RetryPolicy {
 public:
  explicit RetryPolicy(const config::QueueConfig& cfg)
      : min_backoff_s_(cfg.min_backoff_s),
        max_backoff_s_(cfg.max_backoff_s),
        max_lifetime_s_(cfg.max_lifetime_s) {}

  // Delay before the next attempt after `attempts` (>= 1) failed attempts.
  std::int64_t backoff_s(std::uint32_t attempts) const;
  std::int64_t next_attempt(std::int64_t now, std::uint32_t attempts) const {
    return now + backoff_s(attempts);
  }
  std::int64_t expiry(std::int64_t arrival_unix) const {
    return arrival_unix + static_cast<std::int64_t>(max_lifetime_s_);
  }
  bool expired(std::int64_t arrival_unix, std::int64_t now) const {
    return now - arrival_unix >= static_cast<std::int64_t>(max_lifetime_s_);
  }

 private:
  std::uint32_t min_backoff_s_;
  std::uint32_t max_backoff_s_;
  std::uint32_t max_lifetime_s_;
};

}  // namespace mailroom::queue
