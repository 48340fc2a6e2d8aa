#include "delivery/local_delivery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "delivery/maildir.hpp"
#include "util/ascii.hpp"

namespace mailroom::delivery {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Calls fn(name, full_field_text) for each header field (a line plus its continuation lines).
template <typename Fn>
void for_each_field(std::string_view headers, Fn fn) {
  std::size_t pos = 0;
  while (pos < headers.size()) {
    std::size_t end = pos;
    do {
      auto nl = headers.find('\n', end);
      end = nl == std::string_view::npos ? headers.size() : nl + 1;
    } while (end < headers.size() && (headers[end] == ' ' || headers[end] == '\t'));
    std::string_view field = headers.substr(pos, end - pos);
    auto colon = field.find(':');
    fn(colon == std::string_view::npos ? std::string_view() : trim(field.substr(0, colon)), field);
    pos = end;
  }
}

std::string status_reason(std::error_code ec) {
  if (ec == std::errc::no_space_on_device) return "4.3.1 mailbox write failed: " + ec.message();
  if (ec.value() == EDQUOT && ec.category() == std::system_category())
    return "4.2.2 mailbox full: " + ec.message();
  return "4.3.0 mailbox write failed: " + ec.message();
}

// Staging index of a copy that a recovered message finds already delivered.
constexpr std::size_t kAlreadyInMaildir = std::numeric_limits<std::size_t>::max();

// What happens to one recipient while its mailbox copies are being written.
struct PendingRecipient {
  RecipientResult result;
  std::vector<std::pair<std::string, std::size_t>> staged;  // mailbox address, staging index
  std::string deferred_reason;
  std::string failed_reason;
};

}  // namespace

std::string without_return_path(std::string_view headers) {
  std::string out;
  out.reserve(headers.size());
  for_each_field(headers, [&](std::string_view name, std::string_view field) {
    if (!util::iequals(name, "Return-Path")) out.append(field);
  });
  return out;
}

bool has_delivered_to(std::string_view headers, std::string_view address) {
  bool found = false;
  for_each_field(headers, [&](std::string_view name, std::string_view field) {
    if (!util::iequals(name, "Delivered-To")) return;
    auto value = trim(field.substr(field.find(':') + 1));
    if (value.size() >= 2 && value.front() == '<' && value.back() == '>')
      value = value.substr(1, value.size() - 2);
    if (util::iequals(value, address)) found = true;
  });
  return found;
}

LocalDelivery::LocalDelivery(std::string mailbox_root, std::string hostname,
                             std::shared_ptr<directory::Directory> directory,
                             util::SyncPool& sync_pool)
    : mailbox_root_(std::move(mailbox_root)),
      hostname_(std::move(hostname)),
      directory_(std::move(directory)),
      sync_pool_(sync_pool) {}

std::vector<JobResult> LocalDelivery::deliver(const std::vector<DeliveryJob>& jobs) {
  using Status = directory::Resolution::Status;
  std::vector<JobResult> results(jobs.size());
  std::vector<std::vector<PendingRecipient>> pending(jobs.size());
  MaildirBatch batch(sync_pool_, hostname_);
  std::map<std::string, std::set<std::string>> ids_by_maildir;  // scanned for recovered jobs only
  auto already_delivered = [&](const std::string& maildir, const std::string& id) {
    auto it = ids_by_maildir.find(maildir);
    if (it == ids_by_maildir.end())
      it = ids_by_maildir.emplace(maildir, queue_ids_in_maildir(maildir)).first;
    return it->second.count(id) > 0;
  };

  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto& job = jobs[j];
    const auto& env = job.info.envelope;
    // A message accepted by this process was hashed as it was written and fsync'd; re-reading
    // it here would hash every byte twice (bench/ANALYSIS.md: 20 % of the CPU for 1 MB messages).
    // A file reloaded at start may be a torn write or damaged on disk: that is what the checksum
    // is for.
    std::error_code verify_ec;
    if (job.recovered) verify_ec = spool::verify_queue_file(job.message_path, job.info);
    if (auto ec = verify_ec) {
      if (ec == std::errc::illegal_byte_sequence) {
        results[j].corrupt = true;
        continue;
      }
      for (const auto& a : job.recipients)
        results[j].recipients.push_back({a.index, Outcome::Deferred,
                                         "4.3.0 cannot read queue file: " + ec.message(),
                                         a.delivered_to});
      continue;
    }
    std::string headers;
    if (auto ec = spool::read_headers(job.message_path, job.info.body_bytes, headers)) {
      for (const auto& a : job.recipients)
        results[j].recipients.push_back({a.index, Outcome::Deferred,
                                         "4.3.0 cannot read queue file: " + ec.message(),
                                         a.delivered_to});
      continue;
    }
    const std::uint64_t body_offset = headers.size();
    const std::string kept_headers = without_return_path(headers);
    const std::string return_path = "Return-Path: <" + env.sender + ">\r\n";
    std::map<std::string, std::size_t> staged_by_maildir;  // one copy per mailbox per message

    for (const auto& attempt : job.recipients) {
      PendingRecipient pr;
      pr.result.index = attempt.index;
      pr.result.delivered_to = attempt.delivered_to;
      const auto& address = env.recipients.at(attempt.index).address;
      auto res = directory_->resolve(address);
      if (res.status == Status::NotLocal) {
        pr.deferred_reason = "4.4.0 remote delivery not available";
      } else if (res.status == Status::UnknownUser) {
        pr.failed_reason = "5.1.1 <" + address + ">: user unknown";
      } else if (res.status == Status::AliasError) {
        pr.failed_reason = "5.4.6 <" + address + ">: " + res.error;
      } else {
        if (!res.forwards.empty())
          pr.deferred_reason =
              "4.4.0 remote delivery not available (forward to <" + res.forwards.front() + ">)";
        for (const auto& mb : res.mailboxes) {
          auto mailbox_address = mb.address();
          if (std::find(attempt.delivered_to.begin(), attempt.delivered_to.end(),
                        mailbox_address) != attempt.delivered_to.end())
            continue;
          if (has_delivered_to(headers, mailbox_address)) {
            pr.failed_reason = "5.4.6 <" + mailbox_address + ">: mail forwarding loop";
            continue;
          }
          auto maildir = maildir_for(mailbox_root_, mb);
          if (!maildir) {
            pr.failed_reason = "5.1.3 <" + mailbox_address + ">: unusable mailbox name";
            continue;
          }
          auto [it, fresh] = staged_by_maildir.try_emplace(*maildir, 0);
          if (fresh && job.recovered && already_delivered(*maildir, env.id)) {
            spdlog::info(
                "delivery: id={} to={} copy found in {} after restart; not delivered again", env.id,
                mailbox_address, *maildir);
            it->second = kAlreadyInMaildir;
          } else if (fresh) {
            std::string prefix = return_path + "Delivered-To: " + mailbox_address + "\r\n";
            it->second = batch.stage(*maildir, prefix + kept_headers, job.message_path, body_offset,
                                     job.info.body_bytes, env.id);
          }
          pr.staged.emplace_back(mailbox_address, it->second);
        }
      }
      pending[j].push_back(std::move(pr));
    }
  }

  auto written = batch.commit();

  for (std::size_t j = 0; j < jobs.size(); ++j) {
    for (auto& pr : pending[j]) {
      for (const auto& [mailbox, idx] : pr.staged) {
        if (idx != kAlreadyInMaildir && written[idx]) {
          if (pr.deferred_reason.empty()) pr.deferred_reason = status_reason(written[idx]);
          spdlog::warn("delivery: id={} to={} maildir error: {}", jobs[j].info.envelope.id, mailbox,
                       written[idx].message());
        } else if (std::find(pr.result.delivered_to.begin(), pr.result.delivered_to.end(),
                             mailbox) == pr.result.delivered_to.end()) {
          pr.result.delivered_to.push_back(mailbox);
        }
      }
      if (!pr.deferred_reason.empty()) {
        pr.result.outcome = Outcome::Deferred;
        pr.result.reason = pr.deferred_reason;
      } else if (!pr.failed_reason.empty()) {
        pr.result.outcome = Outcome::Failed;
        pr.result.reason = pr.failed_reason;
      } else {
        pr.result.outcome = Outcome::Delivered;
        pr.result.reason = "2.0.0 delivered to maildir";
      }
      results[j].recipients.push_back(std::move(pr.result));
    }
  }
  return results;
}

}  // namespace mailroom::delivery
