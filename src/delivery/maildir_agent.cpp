#include "delivery/maildir_agent.hpp"

#include <spdlog/spdlog.h>

#include <limits>
#include <map>
#include <set>

#include "delivery/header_fields.hpp"
#include "delivery/maildir.hpp"

namespace mailroom::delivery {
namespace {

std::string status_reason(std::error_code ec) {
  if (ec == std::errc::no_space_on_device) return "4.3.1 mailbox write failed: " + ec.message();
  if (ec.value() == EDQUOT && ec.category() == std::system_category())
    return "4.2.2 mailbox full: " + ec.message();
  return "4.3.0 mailbox write failed: " + ec.message();
}

// Staging index of a copy that a recovered message finds already delivered.
constexpr std::size_t kAlreadyInMaildir = std::numeric_limits<std::size_t>::max();
// An item decided before anything was staged.
constexpr std::size_t kNotStaged = kAlreadyInMaildir - 1;

}  // namespace

MaildirAgent::MaildirAgent(std::string mailbox_root, std::string hostname,
                           util::SyncPool& sync_pool)
    : mailbox_root_(std::move(mailbox_root)),
      hostname_(std::move(hostname)),
      sync_pool_(sync_pool) {}

std::vector<AgentJobResult> MaildirAgent::deliver(const std::vector<AgentJob>& jobs) {
  std::vector<AgentJobResult> results(jobs.size());
  std::vector<std::vector<std::size_t>> staged(jobs.size());  // per item: staging index
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
    auto& items = results[j].items;
    items.resize(job.items.size());
    staged[j].assign(job.items.size(), kNotStaged);
    const std::string& headers = job.headers;
    const std::uint64_t body_offset = headers.size();
    const std::string kept_headers = without_return_path(headers);
    const std::string return_path = "Return-Path: <" + env.sender + ">\r\n";
    // RFC 3030 3: binary content is passed on unaltered, line ends included (maildir.hpp).
    const auto ends = env.body_type == "BINARYMIME" ? LineEnds::AsReceived : LineEnds::Lf;
    std::map<std::string, std::size_t> staged_by_maildir;  // one copy per mailbox per message

    for (std::size_t k = 0; k < job.items.size(); ++k) {
      const auto& mailbox = job.items[k].destination.mailbox;
      const auto mailbox_address = mailbox.address();
      if (has_delivered_to(headers, mailbox_address)) {
        items[k] = item_result(Disposition::Failed,
                               "5.4.6 <" + mailbox_address + ">: mail forwarding loop");
        continue;
      }
      auto maildir = maildir_for(mailbox_root_, mailbox);
      if (!maildir) {
        items[k] = item_result(Disposition::Failed,
                               "5.1.3 <" + mailbox_address + ">: unusable mailbox name");
        continue;
      }
      auto [it, fresh] = staged_by_maildir.try_emplace(*maildir, 0);
      if (fresh && job.recovered && already_delivered(*maildir, env.id)) {
        spdlog::info("delivery: id={} to={} copy found in {} after restart; not delivered again",
                     env.id, mailbox_address, *maildir);
        it->second = kAlreadyInMaildir;
      } else if (fresh) {
        std::string prefix = return_path + "Delivered-To: " + mailbox_address + "\r\n";
        it->second = batch.stage(*maildir, prefix + kept_headers, job.message_path, body_offset,
                                 job.info.body_bytes, env.id, ends);
      }
      staged[j][k] = it->second;
    }
  }

  auto written = batch.commit();

  for (std::size_t j = 0; j < jobs.size(); ++j) {
    for (std::size_t k = 0; k < jobs[j].items.size(); ++k) {
      const auto idx = staged[j][k];
      if (idx == kNotStaged) continue;
      auto& item = results[j].items[k];
      if (idx != kAlreadyInMaildir && written[idx]) {
        item = item_result(Disposition::Deferred, status_reason(written[idx]));
        spdlog::warn("delivery: id={} to={} maildir error: {}", jobs[j].info.envelope.id,
                     jobs[j].items[k].destination.address, written[idx].message());
      } else {
        item = item_result(Disposition::Delivered, "2.0.0 delivered to maildir");
      }
    }
  }
  return results;
}

}  // namespace mailroom::delivery
