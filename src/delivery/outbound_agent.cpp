#include "delivery/outbound_agent.hpp"

#include <ifaddrs.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <future>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "delivery/outbound_connections.hpp"
#include "delivery/outbound_policy.hpp"
#include "dns/delivery_failure.hpp"
#include "dns/mx_plan.hpp"
#include "dns/resolver.hpp"
#include "journal/protocol_log.hpp"
#include "net/body_source.hpp"
#include "net/smtp_client.hpp"
#include "net/tls_client.hpp"

namespace mailroom::delivery {

using config::OutboundTls;
using Endpoint = asio::ip::tcp::endpoint;

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

struct Host {
  std::string name;
  std::vector<Endpoint> endpoints;
};

std::string endpoint_text(const Endpoint& ep) {
  auto a = ep.address().to_string();
  return ep.address().is_v6() ? "[" + a + "]:" + std::to_string(ep.port())
                              : a + ":" + std::to_string(ep.port());
}

// What became of one recipient: its reply, else the session's failure, else no answer at all.
// (A plain function: GCC 12 mishandles class-type conditional expressions in coroutine bodies.)
ItemResult outcome_of(const std::optional<smtp::RecipientResult>& reply,
                      const net::SmtpClient& client, const std::string& where) {
  if (reply) return result_from_reply(*reply, where);
  if (client.failure()) return result_from_session(*client.failure(), where);
  return item_result(Disposition::Deferred, "4.4.2 no reply from " + where);
}

// A reused connection that failed before the server said anything about this message.
bool went_stale(const net::MessageDelivery& delivery, const net::SmtpClient& client) {
  return delivery.submit == smtp::SubmitStatus::Started && client.failure() &&
         stale_connection_failure(*client.failure());
}

// The server closed a cached connection while it was idle: nothing of the message was taken,
// so it goes at once on a new connection rather than waiting for the next retry.
void drop_stale_connection(net::SmtpClient& client, const std::string& desc) {
  spdlog::info("delivery: cached connection to {} was closed by the server ({}); opening a new one",
               desc, client.failure()->reply.summary());
  client.close();
}

smtp::BodyType body_type_of(const std::string& name) {
  if (name == "8BITMIME") return smtp::BodyType::EightBitMime;
  if (name == "BINARYMIME") return smtp::BodyType::BinaryMime;
  if (name == "7BIT") return smtp::BodyType::SevenBit;
  return smtp::BodyType::Unspecified;
}

std::vector<asio::ip::address> local_addresses() {
  std::vector<asio::ip::address> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (auto* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      out.push_back(asio::ip::address_v4(ntohl(sin->sin_addr.s_addr)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      asio::ip::address_v6::bytes_type bytes;
      std::copy(std::begin(sin6->sin6_addr.s6_addr), std::end(sin6->sin6_addr.s6_addr),
                bytes.begin());
      out.push_back(asio::ip::address_v6(bytes));
    }
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace

class OutboundAgent::Impl {
 public:
  explicit Impl(OutboundAgentOptions options)
      : options_(std::move(options)),
        work_(asio::make_work_guard(io_)),
        resolver_(io_.get_executor(), options_.dns),
        cache_(io_.get_executor(), std::chrono::seconds(options_.delivery.connection_cache_s),
               options_.delivery.connection_reuse_limit, options_.delivery.max_connections),
        destinations_(io_.get_executor(), options_.delivery.max_connections_per_destination),
        global_(io_.get_executor(), options_.delivery.max_connections),
        rng_(std::random_device{}()),
        local_addresses_(local_addresses()) {
    net::ClientTlsOptions tls;
    tls.ca_file = options_.delivery.tls_ca_file;
    tls_ = net::make_client_tls_context(tls);
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
      cache_.close_all();
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

 public:
 private:
  asio::awaitable<void> run_unit(std::shared_ptr<Batch> batch, std::size_t u) {
    auto& unit = batch->units[u];
    if (unit.transport == Transport::Lmtp) {
      co_await deliver_lmtp(*batch, unit);
    } else {
      co_await deliver_smtp(*batch, unit);
    }
  }

  // --- what goes on the wire ---------------------------------------------------------------

  smtp::OutboundMessage message_for(const AgentJob& job, const std::vector<std::size_t>& items,
                                    bool lmtp) const {
    const auto& env = job.info.envelope;
    smtp::OutboundMessage m;
    m.sender = env.sender;
    m.size = job.info.body_bytes;
    m.body = body_type_of(env.body_type);
    m.smtputf8 = env.smtputf8;
    m.ret = env.ret;
    m.envid = env.envid;
    for (auto k : items) {
      const auto& item = job.items[k];
      const auto& original = env.recipients.at(item.recipient);
      smtp::OutboundRecipient r;
      r.address = item.destination.address;
      if (lmtp && !item.destination.mailbox.folder.empty())
        r.address = item.destination.mailbox.user + "+" + item.destination.mailbox.folder + "@" +
                    item.destination.mailbox.domain;
      r.notify = original.notify;
      // RFC 3461 4.2: a forward keeps telling the next hop who the recipient was originally.
      r.orcpt = original.orcpt;
      if (r.orcpt.empty() && item.destination.address != original.address)
        r.orcpt = "rfc822;" + original.address;
      m.recipients.push_back(std::move(r));
    }
    return m;
  }

  net::SmtpClientOptions client_options(OutboundTls level, bool lmtp, bool with_credentials) {
    const auto& d = options_.delivery;
    net::SmtpClientOptions o;
    o.session.helo_name = d.helo_name.empty() ? options_.hostname : d.helo_name;
    o.session.lmtp = lmtp;
    o.session.chunking = d.use_bdat;
    switch (level) {
      case OutboundTls::None:
        o.session.tls = smtp::TlsPolicy::None;
        break;
      case OutboundTls::Opportunistic:
        o.session.tls = smtp::TlsPolicy::Opportunistic;
        break;
      case OutboundTls::Required:
        o.session.tls = smtp::TlsPolicy::Required;
        break;
      case OutboundTls::Verify:
        o.session.tls = smtp::TlsPolicy::Required;
        o.require_trusted_certificate = true;
        break;
    }
    if (with_credentials && !d.relayhost_username.empty()) {
      smtp::ClientCredentials c;
      c.username = d.relayhost_username;
      c.password = d.relayhost_password;
      o.session.credentials = c;
      o.session.allow_plaintext_auth = d.relayhost_plaintext_auth;
    }
    o.tls_context = tls_.get();
    if (d.protocol_log) attach_protocol_log(o, lmtp);
    using S = smtp::ClientState;
    auto set = [&o](S s, std::uint32_t v) { o.timeouts_s[static_cast<std::size_t>(s)] = v; };
    set(S::Connecting, d.connect_timeout_s);
    for (S s : {S::Banner, S::Ehlo, S::Helo, S::StartTls, S::TlsHandshake, S::TlsEhlo, S::Auth})
      set(s, d.helo_timeout_s);
    set(S::Mail, d.mail_timeout_s);
    set(S::Rcpt, d.rcpt_timeout_s);
    set(S::Data, d.data_init_timeout_s);
    set(S::DataBody, d.data_xfer_timeout_s);
    set(S::Bdat, d.data_xfer_timeout_s);
    set(S::EndOfData, d.data_done_timeout_s);
    set(S::Quit, d.quit_timeout_s);
    return o;
  }

  // The outbound side of the protocol log: the client's transcript (AUTH already masked, bodies
  // already "<message, N octets>") with the connection's ends and close.
  static void attach_protocol_log(net::SmtpClientOptions& o, bool lmtp) {
    auto* writer = journal::installed_writer();
    if (!writer) return;
    auto trace = std::make_shared<journal::ProtocolTrace>(
        writer, lmtp ? "outbound-lmtp" : "outbound", journal::next_outbound_session_id());
    o.on_connect = [trace](const std::string& local, const std::string& remote) {
      trace->set_endpoints(local, remote);
      trace->connect();
    };
    o.on_close = [trace] { trace->disconnect(); };
    o.transcript = [trace](const net::TranscriptLine& line) {
      using D = net::TranscriptLine::Direction;
      switch (line.direction) {
        case D::Sent:
          trace->sent_command(line.text);
          break;
        case D::Received:
          trace->received(line.text);
          break;
        case D::Info:
          if (line.text.rfind("connected to ", 0) != 0) trace->info(line.text);
          break;
      }
    };
  }

  bool is_own_endpoint(const Endpoint& ep) const {
    for (const auto& own : options_.own_endpoints) {
      if (own.port() != ep.port()) continue;
      if (own.address() == ep.address()) return true;
      if (own.address().is_unspecified() &&
          (ep.address().is_loopback() || std::find(local_addresses_.begin(), local_addresses_.end(),
                                                   ep.address()) != local_addresses_.end()))
        return true;
    }
    return false;
  }

  // --- SMTP ----------------------------------------------------------------------------------

  // The hosts of a next hop, best first, each with its addresses; `failure` when there are none.
  asio::awaitable<void> resolve(const Nexthop& hop, std::vector<Host>& hosts,
                                std::optional<dns::DeliveryFailure>& failure) {
    if (hop.literal) {
      hosts.push_back({hop.host, {Endpoint(*hop.literal, hop.port)}});
      co_return;
    }
    std::vector<dns::MxHost> names;
    if (hop.mx_lookup) {
      auto answer = co_await resolver_.mx(hop.host);
      dns::MxPlanLimits limits;
      limits.max_hosts = options_.delivery.max_mx_hosts;
      auto plan = dns::plan_mx(answer, dns::random_index_from(rng_), limits);
      for (const auto& w : plan.warnings) spdlog::warn("delivery: {}: {}", hop.host, w);
      if (plan.failure) {
        failure = plan.failure;
        co_return;
      }
      names = std::move(plan.hosts);
    } else {
      dns::MxHost h;
      h.name = hop.host;
      names.push_back(h);
    }
    std::vector<dns::DeliveryFailure> host_failures;
    for (const auto& mx : names) {
      Host host{mx.name, {}};
      if (mx.literal) {
        host.endpoints.emplace_back(*mx.literal, hop.port);
      } else {
        auto answer = co_await resolver_.addresses(mx.name);
        if (answer.addresses.empty()) {
          host_failures.push_back(dns::host_lookup_failure(answer));
          continue;
        }
        for (const auto& a : answer.addresses) host.endpoints.emplace_back(a, hop.port);
      }
      hosts.push_back(std::move(host));
    }
    if (hosts.empty() && !host_failures.empty())
      failure = dns::combine_host_failures(host_failures);
  }

  struct Attempt {
    bool connected = false;  // a session got past the greeting
    bool loop = false;
  };

  // A ready connection from the cache for `key`, or one opened in plaintext after a failed
  // handshake with the same peer (then `key` says so); null when there is none.
  ConnectionCache::Client take_cached(ConnectionKey& key) {
    auto client = cache_.take(key);
    if (client) return client;
    ConnectionKey plain = key;
    plain.plaintext_fallback = true;
    client = cache_.take(plain);
    if (client) key = plain;
    return client;
  }

  // A new session, ready unless failure() says why not. Postfix: a STARTTLS handshake that fails
  // under opportunistic TLS is retried in plaintext on a new connection (`key` then says so).
  asio::awaitable<ConnectionCache::Client> open_session(ConnectionKey& key,
                                                        const net::ClientEndpoint& where,
                                                        OutboundTls level, bool credentials,
                                                        const std::string& desc) {
    auto client = co_await open_client(key, where, level, false, credentials);
    auto failed = client->failure();
    if (!client->ready() && failed && level == OutboundTls::Opportunistic &&
        failed->cause == smtp::FailureCause::TlsFailed) {
      spdlog::info("delivery: TLS with {} failed ({}); retrying without TLS", desc,
                   failed->reply.summary());
      key.plaintext_fallback = true;
      client = co_await open_client(key, where, level, false, credentials);
    }
    co_return client;
  }

  asio::awaitable<ConnectionCache::Client> open_client(const ConnectionKey& key,
                                                       const net::ClientEndpoint& where,
                                                       OutboundTls level, bool lmtp,
                                                       bool credentials) {
    auto options =
        client_options(key.plaintext_fallback ? OutboundTls::None : level, lmtp, credentials);
    auto client = std::make_shared<net::SmtpClient>(io_.get_executor(), std::move(options));
    co_await client->open(where);
    co_return client;
  }

  // One session with one address of a host: delivers what it can of `pending`.
  asio::awaitable<Attempt> attempt(const AgentJob& job, NexthopState& dest, const Host& host,
                                   const Endpoint& ep, OutboundTls level, bool credentials,
                                   std::vector<std::size_t>& pending,
                                   std::vector<ItemResult>& results, ItemResult& last) {
    Attempt outcome;
    net::ClientEndpoint where;
    where.tcp = ep;
    where.server_name = host.name;
    const std::string desc = where.description();
    if (is_own_endpoint(ep)) {
      outcome.loop = true;
      co_return outcome;
    }
    co_await global_.acquire();
    net::SemaphorePermit global_permit(global_);
    co_await dest.window.acquire();
    net::SemaphorePermit window_permit(dest.window);

    ConnectionKey key;
    key.endpoint = endpoint_text(ep);
    key.tls = level;
    key.server_name = host.name;
    if (credentials) key.username = options_.delivery.relayhost_username;
    auto client = take_cached(key);
    bool reused = client != nullptr;
    auto message = message_for(job, pending, false);
    net::FileBodySource body(job.message_path, 0, job.info.body_bytes);
    net::MessageDelivery delivery;
    for (;;) {
      if (!client) {
        client = co_await open_session(key, where, level, credentials, desc);
        auto failed = client->failure();
        if (!client->ready()) {
          if (failed) last = result_from_session(*failed, desc);
          // Postfix logs each host that let a message down; the final status line names only
          // the last one.
          spdlog::info("delivery: id={} not delivered by {}: {}", job.info.envelope.id, desc,
                       last.reason);
          if (!failed || failed->stage == smtp::ClientState::Connecting) {
            dest.connect_failed();
          } else {
            outcome.connected = true;
          }
          co_return outcome;
        }
        dest.connected();
      }
      outcome.connected = true;
      const auto& greeting = client->session().capabilities().greeting_domain;
      if (!greeting.empty() &&
          smtp::normalize_domain(greeting) == smtp::normalize_domain(options_.hostname)) {
        outcome.loop = true;
        client->close();
        co_return outcome;
      }
      delivery = co_await client->send(message, body);
      const bool stale = reused && went_stale(delivery, *client);
      if (!stale) break;
      drop_stale_connection(*client, desc);
      client = nullptr;
      reused = false;
      key.plaintext_fallback = false;
    }
    switch (delivery.submit) {
      case smtp::SubmitStatus::Started:
        break;
      case smtp::SubmitStatus::NeedsSevenBit:
      case smtp::SubmitStatus::NeedsConversion: {
        const bool binary = delivery.submit == smtp::SubmitStatus::NeedsConversion;
        auto r = item_result(
            Disposition::Failed,
            fmt::format("5.6.3 host {} does not support {}; the message has {} content and was "
                        "not sent rather than altered",
                        desc, binary ? "BINARYMIME" : "8BITMIME", binary ? "binary" : "8-bit"));
        r.remote_mta = desc;
        for (auto k : pending) results[k] = r;
        pending.clear();
        cache_.give(key, client);
        co_return outcome;
      }
      default: {
        auto r = item_result(Disposition::Failed,
                             "5.1.3 the envelope cannot be sent: bad address or parameter");
        for (auto k : pending) results[k] = r;
        pending.clear();
        cache_.give(key, client);
        co_return outcome;
      }
    }
    std::vector<std::size_t> still;
    for (std::size_t i = 0; i < pending.size(); ++i) {
      const ItemResult r = outcome_of(delivery.recipients[i], *client, desc);
      results[pending[i]] = r;
      if (r.disposition == Disposition::Deferred) {
        still.push_back(pending[i]);
        last = r;
      }
    }
    if (!still.empty())
      spdlog::info("delivery: id={} {} of {} recipient(s) not delivered by {}: {}",
                   job.info.envelope.id, still.size(), pending.size(), desc, last.reason);
    pending = std::move(still);
    cache_.give(key, client);
    co_return outcome;
  }

  asio::awaitable<void> deliver_smtp(Batch& batch, Unit& unit) {
    const auto& job = (*batch.jobs)[unit.job];
    auto& results = batch.results[unit.job].items;
    auto set_all = [&](const ItemResult& r) {
      for (auto k : unit.items) results[k] = r;
    };
    const auto& d = options_.delivery;
    const bool via_relayhost = !d.relayhost.empty() && unit.nexthop == d.relayhost;
    auto hop = parse_nexthop(unit.nexthop, static_cast<std::uint16_t>(d.remote_port));
    if (!hop) {
      set_all(item_result(Disposition::Failed,
                          "5.1.2 bad destination host or domain \"" + unit.nexthop + "\""));
      co_return;
    }
    auto& dest = destinations_.get(unit.nexthop);
    const auto now = std::chrono::steady_clock::now();
    if (dest.resting(now)) {
      set_all(item_result(Disposition::Deferred, dest.last_error + " (destination " + unit.nexthop +
                                                     " not tried again yet)"));
      co_return;
    }
    std::vector<Host> hosts;
    std::optional<dns::DeliveryFailure> dns_failure;
    co_await resolve(*hop, hosts, dns_failure);
    if (hosts.empty()) {
      auto f = dns_failure.value_or(dns::DeliveryFailure{false, "4.4.3", "no host found", ""});
      auto r = item_result(f.permanent ? Disposition::Failed : Disposition::Deferred,
                           f.enhanced_status + " " + f.text);
      set_all(r);
      if (!f.permanent) dest.unreachable(r.reason, std::chrono::seconds(d.destination_backoff_s));
      co_return;
    }
    const auto level = tls_level_for(d, via_relayhost ? hop->host : unit.nexthop);
    std::vector<std::size_t> pending = unit.items;
    ItemResult last = item_result(Disposition::Deferred,
                                  "4.4.1 no host of " + unit.nexthop + " could be reached");
    bool reached = false;
    for (const auto& host : hosts) {
      for (const auto& ep : host.endpoints) {
        if (pending.empty()) break;
        auto outcome =
            co_await attempt(job, dest, host, ep, level, via_relayhost, pending, results, last);
        if (outcome.loop) {
          auto r = item_result(Disposition::Failed,
                               "5.4.6 mail for " + unit.nexthop + " loops back to myself");
          for (auto k : pending) results[k] = r;
          pending.clear();
          spdlog::error("delivery: {} (host {})", r.reason, host.name);
          co_return;
        }
        reached = reached || outcome.connected;
        // A host that answered (even with 4xx) has had its say: next host, not next address.
        if (outcome.connected) break;
      }
      if (pending.empty()) break;
    }
    for (auto k : pending) results[k] = last;
    if (reached) {
      dest.reachable();
    } else {
      dest.unreachable(last.reason, std::chrono::seconds(d.destination_backoff_s));
    }
  }

  // --- LMTP ----------------------------------------------------------------------------------

  asio::awaitable<void> deliver_lmtp(Batch& batch, Unit& unit) {
    const auto& job = (*batch.jobs)[unit.job];
    auto& results = batch.results[unit.job].items;
    net::ClientEndpoint where;
    std::string nexthop = unit.nexthop;
    if (nexthop.rfind("unix:", 0) == 0) {
      where.kind = net::ClientEndpoint::Kind::Unix;
      where.unix_path = nexthop.substr(5);
    } else {
      auto hop = parse_nexthop(nexthop, 24);
      if (!hop || !hop->literal) {
        for (auto k : unit.items)
          results[k] = item_result(Disposition::Deferred,
                                   "4.3.5 LMTP server \"" + nexthop + "\" must be an IP address");
        co_return;
      }
      where.tcp = Endpoint(*hop->literal, hop->port);
    }
    const std::string desc = where.description();
    co_await global_.acquire();
    net::SemaphorePermit global_permit(global_);
    auto& dest = destinations_.get("lmtp:" + nexthop);
    co_await dest.window.acquire();
    net::SemaphorePermit window_permit(dest.window);
    ConnectionKey key;
    key.endpoint = where.description();
    key.tls = OutboundTls::None;
    key.lmtp = true;
    auto client = cache_.take(key);
    bool reused = client != nullptr;
    auto message = message_for(job, unit.items, true);
    net::FileBodySource body(job.message_path, 0, job.info.body_bytes);
    net::MessageDelivery delivery;
    for (;;) {
      if (!client) client = co_await open_client(key, where, OutboundTls::None, true, false);
      if (!client->ready()) {
        const ItemResult r = outcome_of(std::nullopt, *client, desc);
        for (auto k : unit.items) results[k] = r;
        co_return;
      }
      delivery = co_await client->send(message, body);
      const bool stale = reused && went_stale(delivery, *client);
      if (!stale) break;
      drop_stale_connection(*client, desc);
      client = nullptr;
      reused = false;
    }
    for (std::size_t i = 0; i < unit.items.size(); ++i) {
      const auto k = unit.items[i];
      if (delivery.submit != smtp::SubmitStatus::Started) {
        results[k] = item_result(Disposition::Deferred,
                                 "4.3.0 LMTP server " + desc + " cannot take this message");
      } else {
        results[k] = outcome_of(delivery.recipients[i], *client, desc);
      }
    }
    cache_.give(key, client);
  }

  OutboundAgentOptions options_;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  dns::Resolver resolver_;
  std::unique_ptr<asio::ssl::context> tls_;
  ConnectionCache cache_;
  NexthopStates destinations_;
  net::AsyncSemaphore global_;
  std::mt19937_64 rng_;
  std::vector<asio::ip::address> local_addresses_;
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
