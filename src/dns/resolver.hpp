// dns/resolver: asynchronous DNS lookups for remote delivery (MX routing), `mailroom mx`, and
// later SPF/DKIM (TXT), on c-ares driven by the caller's io_context (dns/ares_channel).
//
// Owns: the lookups, their cache (dns/cache) and the sharing of identical lookups in flight:
// while one query for (name, type) is out, later askers wait for its answer instead of sending
// another. Answers keep the status a mail system acts on (dns/status: NXDOMAIN vs NODATA vs
// temporary failures), their TTL, and the null MX (RFC 7505). Responses are read by dns/answer
// (RFC 1035, 2181, 2308), not by c-ares' parsers.
//
// Contract: every method is called on the executor's thread, and that executor runs on one
// thread (the server's io_context(1)); coroutines awaiting a lookup resume on their own
// executor. Completions are always posted, never run inside a call into the Resolver, so a
// caller may destroy the Resolver from a completion. Destroying it with lookups in flight
// completes each of them with Status::Cancelled; nothing touches the Resolver afterwards. The
// Resolver must exist when a lookup's co_await begins (that is when the query is sent), and
// must be destroyed before its io_context (the cancelled completions are posted to it).
// Never: block the io thread (the slowest lookup costs timeout_ms x tries rounds, see
// dns/resolver_options), or return an answer past its TTL.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "dns/cache.hpp"
#include "dns/resolver_options.hpp"
#include "dns/typed_answers.hpp"

namespace mailroom::dns {

class AresChannel;

class Resolver {
 public:
  struct Stats {
    std::uint64_t queries_sent = 0;  // questions handed to c-ares (its retries not counted)
    std::uint64_t cache_hits = 0;
    std::uint64_t shared = 0;  // lookups that joined an identical one in flight
  };

  // Throws std::invalid_argument for a server address parse_server_address rejects.
  Resolver(asio::any_io_executor executor, ResolverOptions options);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Any type, e.g. query("example.test", RrType::MX) or static_cast<RrType>(52) for TLSA.
  asio::awaitable<Answer> query(std::string name, RrType type);
  asio::awaitable<MxAnswer> mx(std::string domain);
  // A and AAAA, asked at the same time.
  asio::awaitable<AddressAnswer> addresses(std::string host);
  asio::awaitable<AddressAnswer> ipv4(std::string host);
  asio::awaitable<AddressAnswer> ipv6(std::string host);
  asio::awaitable<PtrAnswer> ptr(asio::ip::address address);
  asio::awaitable<TxtAnswer> txt(std::string name);

  // The callback form: `done` runs on the Resolver's executor, after this returns.
  void async_lookup(std::string name, RrType type, std::function<void(Answer)> done);

  const Stats& stats() const { return stats_; }
  std::size_t cache_size() const { return cache_.size(); }

 private:
  using Waiter = std::function<void(const Answer&)>;  // may run before start() returns
  struct Flight {
    std::vector<Waiter> waiters;
  };

  // Plain functions returning the initiated operation, not coroutines (see server/async_bridge).
  asio::awaitable<Answer> lookup(std::string name, RrType type);
  asio::awaitable<std::tuple<Answer, Answer>> lookup_both_families(std::string host);

  void start(std::string name, RrType type, Waiter done);
  void finish(const std::string& key, const std::string& name, RrType type, int ares_status,
              std::span<const std::uint8_t> response, const Flight& flight);

  asio::any_io_executor executor_;
  ResolverOptions options_;
  AnswerCache cache_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
  Stats stats_;
  std::shared_ptr<AresChannel> channel_;
};

}  // namespace mailroom::dns
