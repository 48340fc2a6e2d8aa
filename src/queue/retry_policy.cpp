#include "queue/retry_policy.hpp"

#include <algorithm>

namespace mailroom::queue {

std::int64_t RetryPolicy::backoff_s(std::uint32_t attempts) const {
  std::int64_t delay = std::max<std::int64_t>(min_backoff_s_, 1);
  const std::int64_t cap = std::max<std::int64_t>(max_backoff_s_, delay);
  for (std::uint32_t i = 1; i < attempts && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

}  // namespace mailroom::queue
