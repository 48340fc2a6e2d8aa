#include "delivery/outbound_agent.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "delivery/lmtp_delivery.hpp"
#include "delivery/nexthop_hosts.hpp"
#include "delivery/outbound_connections.hpp"
#include "delivery/outbound_sessions.hpp"
#include "delivery/own_endpoints.hpp"
#include "delivery/smtp_host_attempt.hpp"
#include "delivery/smtp_nexthop_delivery.hpp"

namespace mailroom::delivery {

namespace {

// One message to one next hop: the items of one AgentJob that share it.
struct Unit {
  std::size_t job = 0;
  std::vector<std::size_t> items;
  std::string nexthop;
  Transport transport = Transport::Smtp;
};

struct Batch {
  const std::vector<AgentJob>* jobs = nullptr;
  std::vector<AgentJobResult> results;
  std::vector<Unit> units;
  std::size_t remaining = 0;
  bool finished = false;  // done was set: nothing may touch results any more
  std::promise<void> done;
};

}  // namespace

class OutboundAgent::Impl {
 public:
  explicit Impl(OutboundAgentOptions options)
      : options_(std::move(options)),
        work_(asio::make_work_guard(io_)),
        hosts_(io_.get_executor(), options_.dns, options_.delivery.max_mx_hosts),
        sessions_(io_.get_executor(), options_.delivery, options_.hostname),
        destinations_(io_.get_executor(), options_.delivery.max_connections_per_destination),
        own_(options_.own_endpoints),
        attempts_(sessions_, own_, options_.delivery, options_.hostname),
        smtp_(options_.delivery, hosts_, destinations_, attempts_),
        lmtp_(sessions_, destinations_) {
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Impl() {
    stop();
    if (thread_.joinable()) thread_.join();
  }

  // Ends every attempt in flight where it stands: the event loop stops first, so nothing writes
  // a result after its batch was handed back; unfinished items keep "interrupted" (deferred).
  void stop() {
    if (stopped_.exchange(true)) return;
    asio::post(io_, [this] {
      sessions_.close_all();
      io_.stop();
      for (auto& batch : active_) finish(*batch);
      active_.clear();
    });
  }

  void end_rests() {
    asio::post(io_, [this] { destinations_.end_rests(); });
  }

  std::vector<AgentJobResult> deliver(const std::vector<AgentJob>& jobs) {
    auto batch = std::make_shared<Batch>();
    batch->jobs = &jobs;
    batch->results.resize(jobs.size());
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      batch->results[j].items.assign(
          jobs[j].items.size(),
          item_result(Disposition::Deferred, "4.3.0 delivery attempt interrupted"));
      std::map<std::pair<Transport, std::string>, std::size_t> unit_of;
      for (std::size_t k = 0; k < jobs[j].items.size(); ++k) {
        const auto& dest = jobs[j].items[k].destination;
        auto key = std::make_pair(dest.transport, dest.nexthop);
        auto [it, fresh] = unit_of.try_emplace(key, batch->units.size());
        if (fresh) batch->units.push_back(Unit{j, {}, dest.nexthop, dest.transport});
        batch->units[it->second].items.push_back(k);
      }
    }
    if (batch->units.empty() || stopped_) return std::move(batch->results);
    batch->remaining = batch->units.size();
    auto done = batch->done.get_future();
    asio::post(io_, [this, batch] {
      active_.insert(batch);
      for (std::size_t u = 0; u < batch->units.size(); ++u)
        asio::co_spawn(io_, run_unit(batch, u), [this, batch](std::exception_ptr e) {
          if (e) {
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& ex) {
              spdlog::error("delivery: outbound attempt failed: {}", ex.what());
            }
          }
          if (--batch->remaining == 0) {
            active_.erase(batch);
            finish(*batch);
          }
        });
    });
    // A batch posted after stop() never runs: wait for the stop, not for the batch.
    while (done.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
      if (stopped_ && io_.stopped()) return std::move(batch->results);
    }
    return std::move(batch->results);
  }

 private:
  static void finish(Batch& batch) {
    if (batch.finished) return;
    batch.finished = true;
    batch.done.set_value();
  }

  asio::awaitable<void> run_unit(std::shared_ptr<Batch> batch, std::size_t u) {
    auto& unit = batch->units[u];
    const auto& job = (*batch->jobs)[unit.job];
    auto& results = batch->results[unit.job].items;
    if (unit.transport == Transport::Lmtp) {
      co_await lmtp_.deliver(job, unit.items, unit.nexthop, results);
    } else {
      co_await smtp_.deliver(job, unit.items, unit.nexthop, results);
    }
  }

  OutboundAgentOptions options_;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  NexthopResolver hosts_;
  OutboundSessions sessions_;
  NexthopStates destinations_;
  OwnEndpoints own_;
  SmtpHostAttempts attempts_;
  SmtpNexthopDelivery smtp_;
  LmtpDelivery lmtp_;
  std::set<std::shared_ptr<Batch>> active_;  // event-loop thread only
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

OutboundAgentOptions outbound_agent_options(const config::Config& cfg) {
  OutboundAgentOptions o;
  o.delivery = cfg.delivery;
  o.hostname = cfg.server.hostname;
  o.dns = dns::resolver_options(cfg.dns);
  for (const auto& l : cfg.listeners) {
    auto host = config::listener_host(l.address);
    auto port = static_cast<std::uint16_t>(std::stoul(l.address.substr(l.address.rfind(':') + 1)));
    std::error_code ec;
    auto address = host == "*" ? asio::ip::address(asio::ip::address_v4::any())
                               : asio::ip::make_address(host, ec);
    if (!ec) o.own_endpoints.emplace_back(address, port);
  }
  return o;
}

OutboundAgent::OutboundAgent(OutboundAgentOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

OutboundAgent::~OutboundAgent() = default;

void OutboundAgent::stop() { impl_->stop(); }

void OutboundAgent::end_rests() { impl_->end_rests(); }

std::vector<AgentJobResult> OutboundAgent::deliver(const std::vector<AgentJob>& jobs) {
  return impl_->deliver(jobs);
}

}  // namespace mailroom::delivery
