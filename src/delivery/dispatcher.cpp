#include "delivery/dispatcher.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>

#include "delivery/header_fields.hpp"
#include "util/metrics.hpp"

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

// One agent's metrics, looked up once: a batch then costs atomic adds, not a registry lookup
// and a label vector per copy.
struct AgentMetrics {
  util::Histogram* latency;
  util::Counter* attempts[3];  // by Disposition
};

const AgentMetrics& agent_metrics(Transport transport) {
  static const auto table = [] {
    auto& latency = util::metrics().histogram(
        "mailroom_delivery_seconds", "Time an agent took for a batch, observed once per message",
        util::latency_buckets(), {"transport"});
    auto& attempts =
        util::metrics().counter("mailroom_delivery_attempts_total",
                                "Copies handed to an agent, by result", {"transport", "result"});
    std::array<AgentMetrics, 3> t{};
    for (auto tr : {Transport::Maildir, Transport::Lmtp, Transport::Smtp}) {
      auto& m = t[static_cast<std::size_t>(tr)];
      m.latency = &latency.with({to_string(tr)});
      for (auto d : {Disposition::Delivered, Disposition::Deferred, Disposition::Failed})
        m.attempts[static_cast<std::size_t>(d)] = &attempts.with({to_string(tr), to_string(d)});
    }
    return t;
  }();
  return table[static_cast<std::size_t>(transport)];
}

// What one recipient's copies came to so far: the first deferral, the first failure, the last
// success.
struct Merge {
  std::optional<ItemResult> deferred, failed, delivered;
  const char* deferred_via = "";
  const char* failed_via = "";
  const char* delivered_via = "";
  bool relayed = false;
  bool passed_on = true;  // so far, every delivered copy's success is the next hop's to report
};

// Where an agent's result for (job j, item k) goes back to.
struct ItemOwner {
  std::size_t job = 0;
  std::size_t recipient = 0;  // position in DeliveryJob::recipients
  std::string address;
};

}  // namespace

Dispatcher::Dispatcher(const Router& router, Agents agents, DispatcherOptions options)
    : router_(router), agents_(std::move(agents)), options_(options) {}

std::vector<JobResult> Dispatcher::deliver(const std::vector<DeliveryJob>& jobs) {
  std::vector<JobResult> results(jobs.size());
  std::vector<std::vector<Merge>> merges(jobs.size());
  std::map<Transport, std::vector<AgentJob>> per_agent;
  std::map<Transport, std::vector<std::vector<ItemOwner>>> owners;

  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto& job = jobs[j];
    merges[j].resize(job.recipients.size());
    std::map<Transport, std::size_t> agent_job_of;  // this message's AgentJob per transport
    std::string headers;
    std::optional<ItemResult> whole;  // decides every recipient of this message
    if (auto ec = spool::read_headers(job.message_path, job.info.body_bytes, headers)) {
      whole = item_result(Disposition::Deferred, "4.3.0 cannot read queue file: " + ec.message());
    } else if (auto hops = count_fields(headers, "Received"); hops > options_.max_hops) {
      whole = item_result(Disposition::Failed,
                          fmt::format("5.4.6 too many hops ({} Received: header fields, at most "
                                      "{}): mail loop",
                                      hops, options_.max_hops));
    }
    for (std::size_t r = 0; r < job.recipients.size(); ++r) {
      const auto& attempt = job.recipients[r];
      auto& result = results[j].recipients.emplace_back();
      result.index = attempt.index;
      result.delivered_to = attempt.delivered_to;
      if (whole) {
        (whole->disposition == Disposition::Failed ? merges[j][r].failed : merges[j][r].deferred) =
            *whole;
        continue;
      }
      auto route = router_.route(job.info.envelope.recipients.at(attempt.index).address);
      if (!route.failure.empty())
        merges[j][r].failed = item_result(Disposition::Failed, route.failure);
      for (auto& dest : route.destinations) {
        if (std::find(attempt.delivered_to.begin(), attempt.delivered_to.end(), dest.address) !=
            attempt.delivered_to.end())
          continue;
        const auto transport = dest.transport;
        if (!agents_.count(transport)) {
          const std::string name = transport == Transport::Smtp ? "remote" : to_string(transport);
          if (!merges[j][r].deferred)
            merges[j][r].deferred =
                item_result(Disposition::Deferred, "4.4.0 " + name + " delivery not available");
          continue;
        }
        auto [it, fresh] = agent_job_of.try_emplace(transport, 0);
        if (fresh) {
          it->second = per_agent[transport].size();
          per_agent[transport].push_back({job.message_path, job.info, job.recovered, headers, {}});
          owners[transport].emplace_back();
        }
        owners[transport][it->second].push_back({j, r, dest.address});
        per_agent[transport][it->second].items.push_back({attempt.index, std::move(dest)});
      }
    }
  }

  for (auto& [transport, agent_jobs] : per_agent) {
    const auto started = std::chrono::steady_clock::now();
    auto agent_results = agents_.at(transport)->deliver(agent_jobs);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto& metrics = agent_metrics(transport);
    for (std::size_t a = 0; a < agent_jobs.size(); ++a) {
      metrics.latency->observe(seconds);
      for (const auto& item : agent_results.at(a).items)
        metrics.attempts[static_cast<std::size_t>(item.disposition)]->inc();
    }
    for (std::size_t a = 0; a < agent_jobs.size(); ++a) {
      const auto& item_owners = owners[transport][a];
      for (std::size_t k = 0; k < item_owners.size(); ++k) {
        const auto& owner = item_owners[k];
        const auto& item = agent_results.at(a).items.at(k);
        auto& merge = merges[owner.job][owner.recipient];
        auto& result = results[owner.job].recipients[owner.recipient];
        switch (item.disposition) {
          case Disposition::Delivered:
            merge.delivered = item;
            merge.delivered_via = to_string(transport);
            merge.relayed = merge.relayed || item.relayed;
            merge.passed_on = merge.passed_on && item.dsn_passed_on;
            if (std::find(result.delivered_to.begin(), result.delivered_to.end(), owner.address) ==
                result.delivered_to.end())
              result.delivered_to.push_back(owner.address);
            break;
          case Disposition::Deferred:
            if (!merge.deferred) {
              merge.deferred = item;
              merge.deferred_via = to_string(transport);
            }
            break;
          case Disposition::Failed:
            if (!merge.failed) {
              merge.failed = item;
              merge.failed_via = to_string(transport);
            }
            break;
        }
      }
    }
  }

  for (std::size_t j = 0; j < jobs.size(); ++j) {
    for (std::size_t r = 0; r < results[j].recipients.size(); ++r) {
      auto& result = results[j].recipients[r];
      const auto& merge = merges[j][r];
      const ItemResult* decided = merge.deferred    ? &*merge.deferred
                                  : merge.failed    ? &*merge.failed
                                  : merge.delivered ? &*merge.delivered
                                                    : nullptr;
      if (decided) {
        result.disposition = decided->disposition;
        result.reason = decided->reason;
        result.remote_mta = decided->remote_mta;
        result.diagnostic = decided->diagnostic;
        result.transport = merge.deferred ? merge.deferred_via
                           : merge.failed ? merge.failed_via
                                          : merge.delivered_via;
      } else {
        result.disposition = Disposition::Delivered;  // every copy was delivered before
        result.reason = "2.0.0 delivered";
      }
      result.relayed = merge.relayed;
      result.dsn_passed_on = merge.delivered && merge.passed_on;
    }
  }
  return results;
}

}  // namespace mailroom::delivery
