#include "server/client_ledger.hpp"

namespace mailroom::server {

WindowCounter::WindowCounter(std::chrono::seconds window, std::size_t max_entries)
    : window_(window), max_entries_(max_entries == 0 ? 1 : max_entries) {}

void WindowCounter::make_room(Clock::time_point now) {
  // Windows start in time order, so expired entries are at the front of by_start_.
  while (!by_start_.empty()) {
    auto oldest = by_start_.begin();
    auto it = entries_.find(oldest->second);
    const bool stale = it == entries_.end() || it->second.start != oldest->first;
    if (!stale && !expired(it->second, now) && entries_.size() < max_entries_) break;
    if (!stale) entries_.erase(it);
    by_start_.erase(oldest);
  }
}

std::uint32_t WindowCounter::record(std::string_view key, Clock::time_point now) {
  make_room(now);
  std::string k(key);
  auto it = entries_.find(k);
  if (it == entries_.end() || expired(it->second, now)) {
    if (it == entries_.end()) it = entries_.emplace(k, Entry{}).first;
    it->second = Entry{now, 0};
    by_start_.emplace(now, std::move(k));
  }
  return ++it->second.count;
}

std::uint32_t WindowCounter::count(std::string_view key, Clock::time_point now) const {
  auto it = entries_.find(std::string(key));
  if (it == entries_.end() || expired(it->second, now)) return 0;
  return it->second.count;
}

}  // namespace mailroom::server
