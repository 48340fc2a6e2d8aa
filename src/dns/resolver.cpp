#include "dns/resolver.hpp"

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>

#include "dns/ares_channel.hpp"
#include "dns/name.hpp"

namespace mailroom::dns {
namespace {

// For c-ares statuses that come without a server response.
Status status_from_ares(int ares_status) {
  switch (ares_status) {
    case ARES_ENODATA:
      return Status::NoData;
    case ARES_ENOTFOUND:
      return Status::NxDomain;
    case ARES_ESERVFAIL:
      return Status::ServFail;
    case ARES_EREFUSED:
      return Status::Refused;
    case ARES_ETIMEOUT:
      return Status::Timeout;
    case ARES_EBADNAME:
      return Status::BadName;
    case ARES_EBADRESP:
      return Status::Malformed;
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
      return Status::Cancelled;
    default:  // ARES_ECONNREFUSED (ICMP unreachable), ARES_ENOMEM, ARES_EFORMERR, ARES_ENOTIMP...
      return Status::TempError;
  }
}

// With ARES_FLAG_NOCHECKRESP every answer a server sent reaches us with its RCODE mapped to a
// status and the response itself; the response is the authority (and holds the TTLs and SOA).
Answer answer_from_ares(int ares_status, std::span<const std::uint8_t> response,
                        const std::string& name, RrType type, const TtlLimits& limits) {
  bool server_answered = ares_status == ARES_SUCCESS || ares_status == ARES_ENODATA ||
                         ares_status == ARES_ENOTFOUND || ares_status == ARES_ESERVFAIL ||
                         ares_status == ARES_EREFUSED || ares_status == ARES_EFORMERR ||
                         ares_status == ARES_ENOTIMP;
  if (server_answered && !response.empty()) {
    std::optional<Message> message = parse_message(response);
    if (!message) return failed_answer(name, type, Status::Malformed);
    return interpret_response(*message, name, type, limits);
  }
  return failed_answer(name, type, status_from_ares(ares_status));
}

std::string flight_key(const std::string& name, RrType type) {
  return std::to_string(static_cast<std::uint16_t>(type)) + " " + name;
}

}  // namespace

Resolver::Resolver(asio::any_io_executor executor, ResolverOptions options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      cache_(options_.cache_max_entries, options_.clock),
      channel_(AresChannel::create(executor_, options_)) {}

Resolver::~Resolver() {
  // First, while every member is alive: c-ares completes what is in flight (ARES_EDESTRUCTION).
  channel_.reset();
}

void Resolver::start(std::string name, RrType type, Waiter done) {
  std::optional<std::string> normalized = normalize_name(name);
  if (!normalized) {
    done(failed_answer(name, type, Status::BadName));
    return;
  }
  if (std::optional<Answer> cached = cache_.find(*normalized, type)) {
    ++stats_.cache_hits;
    done(*cached);
    return;
  }
  std::string key = flight_key(*normalized, type);
  if (auto it = flights_.find(key); it != flights_.end()) {
    ++stats_.shared;
    it->second->waiters.push_back(std::move(done));
    return;
  }
  auto flight = std::make_shared<Flight>();
  flight->waiters.push_back(std::move(done));
  flights_.emplace(key, flight);
  ++stats_.queries_sent;
  channel_->query(*normalized, type,
                  [this, flight, key, name = *normalized, type](
                      int ares_status, std::span<const std::uint8_t> response) {
                    finish(key, name, type, ares_status, response, *flight);
                  });
}

void Resolver::finish(const std::string& key, const std::string& name, RrType type, int ares_status,
                      std::span<const std::uint8_t> response, const Flight& flight) {
  Answer answer = answer_from_ares(ares_status, response, name, type, options_.ttl);
  if (ares_status != ARES_EDESTRUCTION) {  // the Resolver is being destroyed: leave it alone
    cache_.store(answer);
    flights_.erase(key);
  }
  for (const auto& waiter : flight.waiters) waiter(answer);
}

void Resolver::async_lookup(std::string name, RrType type, std::function<void(Answer)> done) {
  start(std::move(name), type, [ex = executor_, done = std::move(done)](const Answer& answer) {
    asio::post(ex, [done, answer]() { done(answer); });
  });
}

asio::awaitable<Answer> Resolver::lookup(std::string name, RrType type) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(Answer)>(
      [this](auto handler, std::string n, RrType t) {
        // Waiters are copyable std::functions; the coroutine's handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto ex = asio::get_associated_executor(*shared, executor_);
        start(std::move(n), t, [shared, ex](const Answer& answer) {
          asio::post(ex, [shared, answer]() mutable { (*shared)(std::move(answer)); });
        });
      },
      asio::use_awaitable, std::move(name), type);
}

asio::awaitable<std::tuple<Answer, Answer>> Resolver::lookup_both_families(std::string host) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(Answer, Answer)>(
      [this](auto handler, std::string h) {
        using Handler = decltype(handler);
        struct Join {
          Handler handler;
          std::optional<Answer> ipv4;
          std::optional<Answer> ipv6;
        };
        auto join = std::make_shared<Join>(Join{std::move(handler), {}, {}});
        auto ex = asio::get_associated_executor(join->handler, executor_);
        auto complete_when_both = [join, ex] {
          if (!join->ipv4 || !join->ipv6) return;
          asio::post(ex, [join]() {
            std::move(join->handler)(std::move(*join->ipv4), std::move(*join->ipv6));
          });
        };
        start(h, RrType::A, [join, complete_when_both](const Answer& answer) {
          join->ipv4 = answer;
          complete_when_both();
        });
        start(std::move(h), RrType::AAAA, [join, complete_when_both](const Answer& answer) {
          join->ipv6 = answer;
          complete_when_both();
        });
      },
      asio::use_awaitable, std::move(host));
}

asio::awaitable<Answer> Resolver::query(std::string name, RrType type) {
  Answer answer = co_await lookup(std::move(name), type);
  co_return answer;
}

asio::awaitable<MxAnswer> Resolver::mx(std::string domain) {
  Answer answer = co_await lookup(std::move(domain), RrType::MX);
  co_return to_mx_answer(answer);
}

asio::awaitable<AddressAnswer> Resolver::addresses(std::string host) {
  std::tuple<Answer, Answer> both = co_await lookup_both_families(std::move(host));
  co_return merge_address_answers(std::get<0>(both), std::get<1>(both));
}

asio::awaitable<AddressAnswer> Resolver::ipv4(std::string host) {
  Answer answer = co_await lookup(std::move(host), RrType::A);
  co_return to_address_answer(answer);
}

asio::awaitable<AddressAnswer> Resolver::ipv6(std::string host) {
  Answer answer = co_await lookup(std::move(host), RrType::AAAA);
  co_return to_address_answer(answer);
}

asio::awaitable<PtrAnswer> Resolver::ptr(asio::ip::address address) {
  std::string name = reverse_name(address);
  Answer answer = co_await lookup(std::move(name), RrType::PTR);
  co_return to_ptr_answer(address, answer);
}

asio::awaitable<TxtAnswer> Resolver::txt(std::string name) {
  Answer answer = co_await lookup(std::move(name), RrType::TXT);
  co_return to_txt_answer(answer);
}

}  // namespace mailroom::dns
