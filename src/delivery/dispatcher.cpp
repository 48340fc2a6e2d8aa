#include "delivery/dispatcher.hpp"

#include <algorithm>

namespace mailroom::delivery {

const char* to_string(Disposition d) {
  switch (d) {
    case Disposition::Delivered:
      return "delivered";
    case Disposition::Deferred:
      return "deferred";
    case Disposition::Failed:
      return "failed";
  }
  return "deferred";
}

namespace {

// What one recipient's copies came to so far.
struct Merge {
  std::string deferred;   // first deferral reason
  std::string failed;     // first failure reason
  std::string delivered;  // last success reason
};

// Where an agent's result for (job j, item k) goes back to.
struct ItemOwner {
  std::size_t job = 0;
  std::size_t recipient = 0;  // position in DeliveryJob::recipients
  std::string address;
};

}  // namespace

Dispatcher::Dispatcher(const Router& router, Agents agents)
    : router_(router), agents_(std::move(agents)) {}

std::vector<JobResult> Dispatcher::deliver(const std::vector<DeliveryJob>& jobs) {
  std::vector<JobResult> results(jobs.size());
  std::vector<std::vector<Merge>> merges(jobs.size());
  std::map<Transport, std::vector<AgentJob>> per_agent;
  std::map<Transport, std::vector<std::vector<ItemOwner>>> owners;

  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto& job = jobs[j];
    merges[j].resize(job.recipients.size());
    std::map<Transport, std::size_t> agent_job_of;  // this message's AgentJob per transport
    for (std::size_t r = 0; r < job.recipients.size(); ++r) {
      const auto& attempt = job.recipients[r];
      auto& result = results[j].recipients.emplace_back();
      result.index = attempt.index;
      result.delivered_to = attempt.delivered_to;
      auto route = router_.route(job.info.envelope.recipients.at(attempt.index).address);
      if (!route.failure.empty()) merges[j][r].failed = route.failure;
      for (auto& dest : route.destinations) {
        if (std::find(attempt.delivered_to.begin(), attempt.delivered_to.end(), dest.address) !=
            attempt.delivered_to.end())
          continue;
        const auto transport = dest.transport;
        if (!agents_.count(transport)) {
          if (merges[j][r].deferred.empty())
            merges[j][r].deferred =
                std::string("4.4.0 ") +
                (transport == Transport::Smtp ? "remote" : to_string(transport)) +
                " delivery not available";
          continue;
        }
        auto [it, fresh] = agent_job_of.try_emplace(transport, 0);
        if (fresh) {
          it->second = per_agent[transport].size();
          per_agent[transport].push_back({job.message_path, job.info, job.recovered, {}});
          owners[transport].emplace_back();
        }
        owners[transport][it->second].push_back({j, r, dest.address});
        per_agent[transport][it->second].items.push_back({attempt.index, std::move(dest)});
      }
    }
  }

  for (auto& [transport, agent_jobs] : per_agent) {
    auto agent_results = agents_.at(transport)->deliver(agent_jobs);
    for (std::size_t a = 0; a < agent_jobs.size(); ++a) {
      const auto& item_owners = owners[transport][a];
      for (std::size_t k = 0; k < item_owners.size(); ++k) {
        const auto& owner = item_owners[k];
        const auto& item = agent_results.at(a).items.at(k);
        auto& merge = merges[owner.job][owner.recipient];
        auto& result = results[owner.job].recipients[owner.recipient];
        switch (item.disposition) {
          case Disposition::Delivered:
            merge.delivered = item.reason;
            if (std::find(result.delivered_to.begin(), result.delivered_to.end(), owner.address) ==
                result.delivered_to.end())
              result.delivered_to.push_back(owner.address);
            break;
          case Disposition::Deferred:
            if (merge.deferred.empty()) merge.deferred = item.reason;
            break;
          case Disposition::Failed:
            if (merge.failed.empty()) merge.failed = item.reason;
            break;
        }
      }
    }
  }

  for (std::size_t j = 0; j < jobs.size(); ++j) {
    for (std::size_t r = 0; r < results[j].recipients.size(); ++r) {
      auto& result = results[j].recipients[r];
      const auto& merge = merges[j][r];
      if (!merge.deferred.empty()) {
        result.disposition = Disposition::Deferred;
        result.reason = merge.deferred;
      } else if (!merge.failed.empty()) {
        result.disposition = Disposition::Failed;
        result.reason = merge.failed;
      } else {
        result.disposition = Disposition::Delivered;
        result.reason = merge.delivered.empty() ? "2.0.0 delivered" : merge.delivered;
      }
    }
  }
  return results;
}

}  // namespace mailroom::delivery
