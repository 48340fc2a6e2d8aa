#include "queue/scheduler.hpp"

#include <algorithm>

namespace mailroom::queue {

std::int64_t Scheduler::due_time(const MessageRecord& r, std::int64_t now) {
  std::optional<std::int64_t> earliest_retry;
  for (const auto& s : r.states) {
    if (s.status == RecipientStatus::Pending || (s.is_final() && !s.notified))
      return std::max(now, r.hold_until);
    if (s.status == RecipientStatus::Deferred) {
      if (r.flushed) return std::max(now, r.hold_until);
      earliest_retry = std::min(earliest_retry.value_or(s.next_attempt_unix), s.next_attempt_unix);
    }
  }
  // Every recipient final and notified: due now, so that a worker removes the message.
  return std::max(earliest_retry.value_or(now), r.hold_until);
}

bool Scheduler::place(const std::string& id, Entry& e, std::int64_t now) {
  e.due = due_time(e.record, now);
  if (e.due <= now) {
    e.ready = true;
    ready_.push_back(id);
    return true;
  }
  e.ready = false;
  deferred_.emplace(e.due, id);
  return false;
}

void Scheduler::unplace(const std::string& id, Entry& e) {
  if (!e.ready) deferred_.erase({e.due, id});
  e.ready = false;  // a stale id left in ready_ is skipped
}

bool Scheduler::add_locked(MessageRecord record, std::int64_t now) {
  auto id = record.envelope.id;
  auto [it, inserted] = entries_.try_emplace(id);
  if (!inserted) {
    if (it->second.in_flight) return false;  // cannot happen: ids are unique
    unplace(id, it->second);
  }
  it->second.record = std::move(record);
  return place(id, it->second, now);
}

void Scheduler::add(MessageRecord record, std::int64_t now) {
  std::lock_guard lock(mutex_);
  if (add_locked(std::move(record), now)) ready_cv_.notify_one();
}

void Scheduler::add_all(std::vector<MessageRecord> records, std::int64_t now) {
  bool any_ready = false;
  {
    std::lock_guard lock(mutex_);
    for (auto& r : records) any_ready |= add_locked(std::move(r), now);
  }
  // One worker takes the whole batch (up to its round size) and shares its fsyncs; waking one
  // per message made them split a commit batch into rounds of one (bench/ANALYSIS.md). Workers
  // look for ready work before they sleep, so nothing waits while a worker is free.
  if (any_ready) ready_cv_.notify_one();
}

std::vector<MessageRecord> Scheduler::take_locked(std::size_t max) {
  std::vector<MessageRecord> out;
  while (!ready_.empty() && out.size() < max) {
    auto id = std::move(ready_.front());
    ready_.pop_front();
    auto it = entries_.find(id);
    if (it == entries_.end() || !it->second.ready || it->second.in_flight) continue;
    it->second.ready = false;
    it->second.in_flight = true;
    ++in_flight_;
    out.push_back(it->second.record);
  }
  return out;
}

std::vector<MessageRecord> Scheduler::wait_take_ready(std::size_t max) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stopping_) return {};
    auto out = take_locked(max);
    if (!out.empty()) return out;
    ready_cv_.wait(lock);
  }
}

std::vector<MessageRecord> Scheduler::take_ready(std::size_t max) {
  std::lock_guard lock(mutex_);
  return take_locked(max);
}

void Scheduler::complete(const std::string& id, std::optional<MessageRecord> record,
                         std::int64_t now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (it->second.in_flight) {
    it->second.in_flight = false;
    --in_flight_;
  }
  if (!record) {
    entries_.erase(it);
    return;
  }
  it->second.record = std::move(*record);
  if (place(id, it->second, now)) ready_cv_.notify_one();
}

std::size_t Scheduler::promote_due(std::int64_t now) {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  while (!deferred_.empty() && deferred_.begin()->first <= now) {
    auto id = deferred_.begin()->second;
    deferred_.erase(deferred_.begin());
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;
    it->second.ready = true;
    ready_.push_back(id);
    ++n;
  }
  if (n) ready_cv_.notify_all();
  return n;
}

std::optional<std::int64_t> Scheduler::next_due() const {
  std::lock_guard lock(mutex_);
  if (deferred_.empty()) return std::nullopt;
  return deferred_.begin()->first;
}

void Scheduler::reschedule(const std::string& id, std::int64_t now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.in_flight) return;
  unplace(id, it->second);
  if (place(id, it->second, now)) ready_cv_.notify_one();  // admin flush: deliver now
}

Scheduler::Access Scheduler::remove_idle(const std::string& id, MessageRecord& out) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return Access::NotFound;
  if (it->second.in_flight) return Access::Busy;
  unplace(id, it->second);
  out = std::move(it->second.record);
  entries_.erase(it);
  return Access::Done;
}

std::vector<std::string> Scheduler::ids() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) out.push_back(id);
  return out;
}

std::size_t Scheduler::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

Scheduler::Depth Scheduler::depth() const {
  std::lock_guard lock(mutex_);
  Depth d;
  d.in_flight = in_flight_;
  for (const auto& [id, e] : entries_) {
    if (e.in_flight) continue;
    if (e.ready) {
      ++d.ready;
    } else {
      ++d.deferred;
    }
  }
  return d;
}

std::size_t Scheduler::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_cv_.notify_all();
}

}  // namespace mailroom::queue
