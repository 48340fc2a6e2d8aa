#include "queue/delivery_round.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <future>
#include <utility>

#include "bounce/dsn.hpp"
#include "journal/tracking_event.hpp"
#include "util/metrics.hpp"

namespace mailroom::queue {
namespace {

constexpr std::int64_t kHoldAfterErrorS = 60;

// The DSN a recipient's state calls for, if any is still owed.
std::optional<bounce::DsnAction> owed_dsn(const RecipientState& s) {
  if (s.notified) return std::nullopt;
  if (s.status == RecipientStatus::Failed) return bounce::DsnAction::Failed;
  if (s.status == RecipientStatus::Delivered)
    return s.relayed ? bounce::DsnAction::Relayed : bounce::DsnAction::Delivered;
  return std::nullopt;
}

// One tracking-log event for a recipient's outcome (journal/tracking_event.hpp).
void track_outcome(const Envelope& env, const delivery::RecipientResult& r, const RecipientState& s,
                   bool expired, bool retry_scheduled) {
  journal::TrackingEvent e;
  e.id = env.id;
  e.recipient = env.recipients.at(r.index).address;
  e.next_hop = r.remote_mta.empty() ? r.transport : r.remote_mta;
  e.reply = r.diagnostic.empty() ? s.reason : r.diagnostic;
  switch (r.disposition) {
    case delivery::Disposition::Delivered:
      e.event = r.transport == "smtp" ? "SEND" : "DELIVER";
      break;
    case delivery::Disposition::Failed:
      e.event = "FAIL";
      break;
    case delivery::Disposition::Deferred:
      e.event = expired ? "EXPIRE" : "DEFER";
      if (expired) e.reply = s.reason;
      if (retry_scheduled) e.retry_at_unix = s.next_attempt_unix;
      break;
  }
  journal::record(std::move(e));
}

}  // namespace

bool is_complete(const MessageRecord& r) {
  for (const auto& s : r.states)
    if (!s.is_final() || !s.notified) return false;
  return true;
}

DeliveryRound::DeliveryRound(spool::QueuePaths paths, std::string hostname, RetryPolicy policy,
                             std::int64_t delay_warning_s, delivery::Dispatcher& dispatcher,
                             StateDb& db, Queue& queue, SpareFiles& spares,
                             GroupCommitter& committer)
    : paths_(std::move(paths)),
      hostname_(std::move(hostname)),
      policy_(policy),
      delay_warning_s_(delay_warning_s),
      dispatcher_(dispatcher),
      db_(db),
      queue_(queue),
      spares_(spares),
      committer_(committer) {}

bool DeliveryRound::sync_removals() {
  // A queue file leaves messages/ by a rename (into spare/) or an unlink; until messages/ is
  // fsync'd, a power cut brings it back. Its rows in state.db must outlive that moment: a file
  // back without its rows is a message with every recipient pending, delivered again.
  if (auto ec = committer_.sync_messages_dir()) {
    spdlog::error("queue: cannot sync {}: {}; removed messages keep their rows until restart",
                  paths_.messages_dir(), ec.message());
    return false;
  }
  return true;
}

void DeliveryRound::remove_message(const MessageRecord& record) {
  spares_.recycle(paths_.message_file(record.envelope.id));
  if (!sync_removals()) return;
  if (record.has_rows) {
    try {
      db_.apply({}, {record.envelope.id});
    } catch (const std::exception& e) {
      // Orphan rows are harmless: recovery deletes rows whose queue file is gone.
      spdlog::warn("queue: id={} rows not removed: {}", record.envelope.id, e.what());
    }
  }
}

void DeliveryRound::quarantine(const std::string& id) {
  spool::quarantine_queue_file(paths_, id);
  spdlog::error("queue: id={} queue file failed its checksum; moved to {} and not delivered", id,
                paths_.corrupt_dir());
}

void DeliveryRound::apply_outcomes(Work& w, const delivery::JobResult& result, std::int64_t now) {
  const auto& env = w.record.envelope;
  for (const auto& r : result.recipients) {
    auto& s = w.record.states.at(r.index);
    const auto& rcpt = env.recipients.at(r.index);
    // Tried before its time: only an administrator's flush does that, and it must not lengthen
    // the backoff. `attempts` counts the scheduled attempts the backoff is computed from.
    const bool flushed_early = s.status == RecipientStatus::Deferred && s.next_attempt_unix > now;
    s.last_attempt_unix = now;
    if (!flushed_early) s.attempts++;
    s.delivered_to = r.delivered_to;
    s.reason = r.reason;
    s.remote_mta = r.remote_mta;
    s.diagnostic = r.diagnostic;
    bool expired = false;
    switch (r.disposition) {
      case delivery::Disposition::Delivered:
        s.status = RecipientStatus::Delivered;
        s.relayed = r.relayed;
        // A next hop that took NOTIFY along reports success itself (RFC 3461 5.2.2).
        s.notified =
            r.dsn_passed_on || !bounce::wants_dsn(env.sender, rcpt,
                                                  r.relayed ? bounce::DsnAction::Relayed
                                                            : bounce::DsnAction::Delivered);
        break;
      case delivery::Disposition::Failed:
        s.status = RecipientStatus::Failed;
        s.notified = !bounce::wants_dsn(env.sender, rcpt, bounce::DsnAction::Failed);
        break;
      case delivery::Disposition::Deferred:
        if (policy_.expired(env.arrival_unix, now)) {
          expired = true;
          s.status = RecipientStatus::Failed;
          s.reason = "4.4.7 message expired in the queue; last error: " + r.reason;
          s.notified = !bounce::wants_dsn(env.sender, rcpt, bounce::DsnAction::Failed);
        } else if (!flushed_early) {
          s.status = RecipientStatus::Deferred;
          s.next_attempt_unix = policy_.next_attempt(now, s.attempts);
        }  // a flushed recipient keeps the retry it was waiting for
        break;
    }
    if (s.is_final()) {
      static auto& residence = util::metrics()
                                   .histogram("mailroom_queue_residence_seconds",
                                              "Arrival to final state (delivered or failed)",
                                              {1, 5, 30, 60, 300, 1800, 3600, 14400, 86400, 432000})
                                   .with({});
      residence.observe(static_cast<double>(now - env.arrival_unix));
    }
    track_outcome(env, r, s, expired,
                  s.status == RecipientStatus::Deferred && s.next_attempt_unix > now);
    spdlog::info("queue: id={} to=<{}> status={} attempts={} reason=\"{}\"", env.id, rcpt.address,
                 to_string(s.status), s.attempts, s.reason);
    w.changed.push_back(r.index);
  }
}

bool DeliveryRound::persist(std::vector<Work>& work) {
  std::vector<StateUpdate> updates;
  std::vector<std::string> removed;
  bool recycled = false;
  for (auto& w : work) {
    if (w.gone) continue;
    if (is_complete(w.record)) {
      spares_.recycle(paths_.message_file(w.record.envelope.id));
      recycled = true;
      if (w.record.has_rows) removed.push_back(w.record.envelope.id);
      w.gone = true;
      spdlog::info("queue: id={} removed (all recipients final)", w.record.envelope.id);
      continue;
    }
    for (auto i : w.changed) updates.push_back({w.record.envelope.id, i, w.record.states[i]});
  }
  // Only rows make waiting necessary: they must outlive a return of the file after a power cut,
  // or it would read as every recipient pending. A file without rows would come back as it
  // arrived whether this thread waits or not (the Maildir agent then finds its copy and does not
  // deliver it twice); the committer's thread fsyncs messages/ at once, or with the batch it is
  // committing, and waiting would only hold up this round.
  if (!removed.empty()) {
    if (!sync_removals()) removed.clear();
  } else if (recycled) {
    committer_.request_messages_dir_sync();
  }
  try {
    db_.apply(updates, removed);
  } catch (const std::exception& e) {
    spdlog::error("queue: cannot record delivery states: {}; holding messages back", e.what());
    return false;
  }
  for (auto& w : work) {
    if (!w.gone && !w.changed.empty()) w.record.has_rows = true;
    w.changed.clear();
  }
  return true;
}

bool DeliveryRound::delay_warning_due(const MessageRecord& r, std::size_t i,
                                      std::int64_t now) const {
  const auto& s = r.states[i];
  return delay_warning_s_ > 0 && s.status == RecipientStatus::Deferred && !s.delay_notified &&
         now - r.envelope.arrival_unix >= delay_warning_s_ &&
         bounce::wants_dsn(r.envelope.sender, r.envelope.recipients[i], bounce::DsnAction::Delayed);
}

void DeliveryRound::notify(Work& w, std::int64_t now) {
  const auto& env = w.record.envelope;
  // One DSN per kind: failures, successes (delivered or relayed), delay warnings.
  for (auto kind :
       {bounce::DsnAction::Failed, bounce::DsnAction::Delivered, bounce::DsnAction::Delayed}) {
    bounce::DsnRequest req;
    std::vector<std::size_t> covered;
    for (std::size_t i = 0; i < w.record.states.size(); ++i) {
      const auto& s = w.record.states[i];
      std::optional<bounce::DsnAction> action = owed_dsn(s);
      if (kind == bounce::DsnAction::Delayed && delay_warning_due(w.record, i, now))
        action = bounce::DsnAction::Delayed;
      if (!action) continue;
      const auto group =
          *action == bounce::DsnAction::Relayed ? bounce::DsnAction::Delivered : *action;
      if (group != kind) continue;
      bounce::DsnRecipient dr;
      dr.recipient = env.recipients[i];
      dr.reason = s.reason;
      dr.last_attempt_unix = s.last_attempt_unix;
      dr.action = *action;
      dr.remote_mta = s.remote_mta;
      dr.diagnostic = s.diagnostic;
      req.recipients.push_back(std::move(dr));
      covered.push_back(i);
    }
    if (covered.empty()) continue;
    req.original = env;
    req.action = kind;
    req.will_retry_until_unix = policy_.expiry(env.arrival_unix);
    req.reporting_mta = hostname_;
    req.now_unix = now;
    req.original_size = w.info ? w.info->body_bytes : w.record.body_bytes;
    req.dsn_id = queue_.new_message_id();
    const auto path = paths_.message_file(env.id);
    std::error_code ec = spool::read_headers(path, req.original_size, req.original_headers);
    if (!ec && bounce::returns_full_message(env, req.action, req.original_size))
      ec = spool::read_body(path, req.original_size, req.original_message);
    if (!ec) {
      auto msg = queue_.begin(bounce::dsn_envelope(req));
      ec = msg->append(bounce::build_dsn(req));
      if (!ec) {
        std::promise<std::error_code> done;
        auto fut = done.get_future();
        queue_.commit(std::move(msg), [&done](std::error_code r) { done.set_value(r); });
        ec = fut.get();
      }
    }
    if (ec) {
      spdlog::error("queue: id={} DSN not queued: {}; retrying later", env.id, ec.message());
      w.record.hold_until = now + kHoldAfterErrorS;
      continue;
    }
    {
      journal::TrackingEvent e;
      e.event = "DSN";
      e.id = env.id;
      e.dsn_id = req.dsn_id;
      e.kind = bounce::to_string(kind);
      e.sender = env.sender;
      for (auto i : covered) e.recipients.push_back(env.recipients[i].address);
      journal::record(std::move(e));
    }
    spdlog::info("queue: id={} dsn={} action={} to=<{}> recipients={}", env.id, req.dsn_id,
                 bounce::to_string(kind), env.sender, covered.size());
    for (auto i : covered) {
      auto& s = w.record.states[i];
      if (kind == bounce::DsnAction::Delayed) {
        s.delay_notified = true;
      } else {
        s.notified = true;
      }
      w.changed.push_back(i);
    }
  }
}

std::vector<std::optional<MessageRecord>> DeliveryRound::run(std::vector<MessageRecord> records,
                                                             std::int64_t now) {
  std::vector<Work> work;
  work.reserve(records.size());
  std::vector<delivery::DeliveryJob> jobs;
  std::vector<std::size_t> job_owner;
  for (auto& rec : records) {
    auto& w = work.emplace_back(Work{std::move(rec), std::nullopt, {}, false});
    w.record.hold_until = 0;
    const bool flushed = std::exchange(w.record.flushed, false);
    spool::QueueFileInfo info;
    const auto path = paths_.message_file(w.record.envelope.id);
    if (auto ec = spool::read_queue_file_info(path, info)) {
      if (ec == std::errc::no_such_file_or_directory) {
        w.gone = true;
      } else if (ec == std::errc::illegal_byte_sequence) {
        quarantine(w.record.envelope.id);
        w.gone = true;
      } else {
        spdlog::error("queue: id={} unreadable: {}", w.record.envelope.id, ec.message());
        w.record.hold_until = now + kHoldAfterErrorS;
      }
      continue;
    }
    // A message accepted by this process was hashed as it was written and fsync'd; re-reading it
    // would hash every byte twice (bench/ANALYSIS.md). A file reloaded at start may be a torn
    // write or damaged on disk: that is what the checksum is for.
    if (w.record.recovered) {
      auto ec = spool::verify_queue_file(path, info);
      if (ec == std::errc::illegal_byte_sequence) {
        quarantine(w.record.envelope.id);
        remove_message(w.record);  // the file is already gone; this drops its rows
        w.gone = true;
        continue;
      }
      if (ec) {
        spdlog::error("queue: id={} unreadable: {}", w.record.envelope.id, ec.message());
        w.record.hold_until = now + kHoldAfterErrorS;
        continue;
      }
    }
    w.info = info;
    delivery::DeliveryJob job;
    for (std::size_t i = 0; i < w.record.states.size(); ++i) {
      const auto& s = w.record.states[i];
      if (s.status == RecipientStatus::Pending ||
          (s.status == RecipientStatus::Deferred && (s.next_attempt_unix <= now || flushed)))
        job.recipients.push_back({i, s.delivered_to});
    }
    if (job.recipients.empty()) continue;
    job.message_path = path;
    job.info = std::move(info);
    job.recovered = w.record.recovered;
    jobs.push_back(std::move(job));
    job_owner.push_back(work.size() - 1);
  }

  auto results = dispatcher_.deliver(jobs);
  for (std::size_t k = 0; k < results.size(); ++k)
    apply_outcomes(work[job_owner[k]], results[k], now);

  if (persist(work)) {
    bool any_notified = false;
    for (auto& w : work) {
      if (w.gone) continue;
      notify(w, now);
      any_notified = any_notified || !w.changed.empty();
    }
    if (any_notified && !persist(work))
      for (auto& w : work) w.record.hold_until = now + kHoldAfterErrorS;
  } else {
    for (auto& w : work) w.record.hold_until = now + kHoldAfterErrorS;
  }

  std::vector<std::optional<MessageRecord>> out;
  out.reserve(work.size());
  for (auto& w : work) {
    if (w.gone) {
      out.emplace_back(std::nullopt);
    } else {
      out.emplace_back(std::move(w.record));
    }
  }
  return out;
}

}  // namespace mailroom::queue
