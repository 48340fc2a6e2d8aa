// util/unix_clock: wall-clock time in whole seconds since the Unix epoch, as an injectable
// function, for everything that schedules by the calendar (queue retries, lifetimes, DSN dates).
// Tests pass their own UnixClock to move time without sleeping. Timeouts on the wire use
// std::chrono::steady_clock instead: they must not jump with the wall clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace mailroom::util {

using UnixClock = std::function<std::int64_t()>;

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace mailroom::util
