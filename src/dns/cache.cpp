#include "dns/cache.hpp"

namespace mailroom::dns {

AnswerCache::AnswerCache(std::size_t max_entries, Clock clock)
    : max_entries_(max_entries), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

std::string AnswerCache::key_of(std::string_view name, RrType type) {
  // Normalized names never contain a space.
  return std::to_string(static_cast<std::uint16_t>(type)) + " " + std::string(name);
}

std::optional<Answer> AnswerCache::find(std::string_view name, RrType type) {
  auto it = index_.find(key_of(name, type));
  if (it == index_.end()) return std::nullopt;
  auto now = clock_();
  if (now >= it->second->expires_at) {
    entries_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  entries_.splice(entries_.begin(), entries_, it->second);
  const Entry& entry = *it->second;
  auto age_s = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(now - entry.stored_at).count());
  Answer answer = entry.answer;
  answer.from_cache = true;
  answer.ttl_s = answer.ttl_s > age_s ? answer.ttl_s - age_s : 0;
  for (auto& rr : answer.records) rr.ttl_s = rr.ttl_s > age_s ? rr.ttl_s - age_s : 0;
  return answer;
}

void AnswerCache::store(const Answer& answer) {
  if (max_entries_ == 0 || answer.ttl_s == 0) return;
  if (answer.status != Status::Ok && answer.status != Status::NoData &&
      answer.status != Status::NxDomain)
    return;
  auto now = clock_();
  std::string key = key_of(answer.name, answer.type);
  if (auto it = index_.find(key); it != index_.end()) {
    entries_.erase(it->second);
    index_.erase(it);
  }
  entries_.push_front(Entry{key, answer, now, now + std::chrono::seconds(answer.ttl_s)});
  entries_.front().answer.from_cache = false;
  index_.emplace(std::move(key), entries_.begin());
  while (index_.size() > max_entries_) {
    index_.erase(entries_.back().key);
    entries_.pop_back();
  }
}

}  // namespace mailroom::dns
