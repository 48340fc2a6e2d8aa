#include "queue/admin.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "bounce/dsn.hpp"
#include "journal/tracking_event.hpp"

namespace mailroom::queue {

std::vector<std::size_t> fail_by_administrator(MessageRecord& record, std::int64_t now) {
  std::vector<std::size_t> changed;
  for (std::size_t i = 0; i < record.states.size(); ++i) {
    auto& s = record.states[i];
    if (s.is_final()) continue;
    s.status = RecipientStatus::Failed;
    s.reason = kAdminBounceReason;
    s.last_attempt_unix = now;
    s.notified = !bounce::wants_dsn(record.envelope.sender, record.envelope.recipients[i],
                                    bounce::DsnAction::Failed);
    changed.push_back(i);
  }
  return changed;
}

bool flush_deferred(MessageRecord& record) {
  const bool any = std::any_of(record.states.begin(), record.states.end(),
                               [](const auto& s) { return s.status == RecipientStatus::Deferred; });
  if (any) {
    record.flushed = true;
    record.hold_until = 0;
  }
  return any;
}

OnlineAdmin::OnlineAdmin(Scheduler& scheduler, StateDb& db, DeliveryRound& round,
                         std::function<std::int64_t()> clock, std::function<void()> on_flush_all)
    : scheduler_(scheduler),
      db_(db),
      round_(round),
      clock_(std::move(clock)),
      on_flush_all_(std::move(on_flush_all)) {}

void OnlineAdmin::finish(const AdminCommand& command, const std::string& result) {
  spdlog::info("queue: admin command={} id={} result=\"{}\"", command.verb,
               command.message_id.empty() ? "*" : command.message_id, result.substr(2));
  db_.complete_command(command.seq, result);
}

void OnlineAdmin::run_pending_commands() {
  for (const auto& command : db_.pending_commands()) {
    std::optional<std::string> result;
    {
      std::lock_guard lock(mutex_);
      bool already_parked = false;
      for (const auto& [id, list] : parked_)
        for (const auto& c : list) already_parked = already_parked || c.seq == command.seq;
      if (already_parked) continue;
      result = execute(command);
    }
    if (result) finish(command, *result);
  }
}

std::string OnlineAdmin::flush_all(std::int64_t now) {
  if (on_flush_all_) on_flush_all_();
  std::size_t flushed = 0;
  for (const auto& id : scheduler_.ids()) {
    bool any = false;
    scheduler_.with_idle_record(id, [&](MessageRecord& r) { any = flush_deferred(r); });
    if (any) {
      scheduler_.reschedule(id, now);
      ++flushed;
    }
  }
  return "0 flushed " + std::to_string(flushed) + " message(s)";
}

std::optional<std::string> OnlineAdmin::execute(const AdminCommand& c) {
  const auto now = clock_();
  if (c.verb == "flush" && c.message_id.empty()) return flush_all(now);
  if (c.verb == "delete") {
    MessageRecord removed;
    switch (scheduler_.remove_idle(c.message_id, removed)) {
      case Scheduler::Access::NotFound:
        return "1 " + c.message_id + ": not in the queue";
      case Scheduler::Access::Busy:
        parked_[c.message_id].push_back(c);
        return std::nullopt;
      case Scheduler::Access::Done:
        break;
    }
    round_.remove_message(removed);
    journal::TrackingEvent e;
    e.event = "DELETE";
    e.id = c.message_id;
    e.sender = removed.envelope.sender;
    for (std::size_t i = 0; i < removed.states.size(); ++i)
      if (!removed.states[i].is_final())
        e.recipients.push_back(removed.envelope.recipients[i].address);
    e.reply = "deleted by the administrator";
    journal::record(std::move(e));
    return "0 " + c.message_id + ": deleted";
  }
  std::string result;
  auto access = scheduler_.with_idle_record(c.message_id, [&](MessageRecord& r) {
    if (c.verb == "flush") {
      flush_deferred(r);
      result = "0 " + c.message_id + ": flushed";
    } else if (c.verb == "bounce") {
      auto copy = r;
      auto changed = fail_by_administrator(copy, now);
      std::vector<StateUpdate> updates;
      for (auto i : changed) updates.push_back({copy.envelope.id, i, copy.states[i]});
      try {
        db_.apply(updates);  // durable before the DSN is acted upon
        copy.has_rows = copy.has_rows || !updates.empty();
        for (auto i : changed) {
          journal::TrackingEvent e;
          e.event = "FAIL";
          e.id = copy.envelope.id;
          e.recipient = copy.envelope.recipients[i].address;
          e.reply = copy.states[i].reason;
          journal::record(std::move(e));
        }
        r = std::move(copy);
        result = "0 " + c.message_id + ": returned to sender (" + std::to_string(changed.size()) +
                 " recipient(s))";
      } catch (const std::exception& e) {
        result = "1 " + c.message_id + ": " + e.what();
      }
    } else {
      result = "2 unknown command " + c.verb;
    }
  });
  if (access == Scheduler::Access::NotFound) return "1 " + c.message_id + ": not in the queue";
  if (access == Scheduler::Access::Busy) {
    parked_[c.message_id].push_back(c);
    return std::nullopt;
  }
  scheduler_.reschedule(c.message_id, now);
  return result;
}

void OnlineAdmin::complete_delivery(const std::string& id, std::optional<MessageRecord> record,
                                    std::int64_t now) {
  std::vector<std::pair<AdminCommand, std::string>> answered;
  {
    std::lock_guard lock(mutex_);
    bool left = !record.has_value();
    scheduler_.complete(id, std::move(record), now);
    auto it = parked_.find(id);
    if (it == parked_.end()) return;
    auto commands = std::move(it->second);
    parked_.erase(it);
    for (const auto& c : commands) {
      if (left) {
        answered.emplace_back(c, "0 " + id + ": left the queue before the command ran");
      } else if (auto r = execute(c)) {
        answered.emplace_back(c, *r);
      }
    }
  }
  for (const auto& [c, result] : answered) finish(c, result);
}

}  // namespace mailroom::queue
