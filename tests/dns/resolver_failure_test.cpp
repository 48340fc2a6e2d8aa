// The resolver against servers that fail on purpose (tests/dns/scripted_dns_server.hpp), and
// destroyed with lookups in flight.
#include <gtest/gtest.h>

#include "dns/mx_plan.hpp"
#include "dns/resolver.hpp"
#include "run_io.hpp"
#include "scripted_dns_server.hpp"

namespace mailroom::dns {
namespace {

using testing::await;
using testing::Bytes;
using testing::ScriptedDnsServer;

ResolverOptions options_for(const std::string& server, std::uint32_t timeout_ms,
                            std::uint32_t tries) {
  ResolverOptions options;
  options.servers = {server};
  options.timeout_ms = timeout_ms;
  options.tries = tries;
  return options;
}

// A loopback UDP port nothing listens on: the kernel answers with ICMP port unreachable.
std::string unused_udp_port() {
  ScriptedDnsServer probe(ScriptedDnsServer::silent());
  return probe.address();  // closed again when probe goes
}

TEST(DnsResolverFailure, ServFailIsTemporaryAndNotRetried) {
  ScriptedDnsServer server(ScriptedDnsServer::rcode(2));
  asio::io_context io;
  Resolver resolver(io.get_executor(), options_for(server.address(), 1000, 3));
  auto a = await(io, resolver.mx("example.test"));
  EXPECT_EQ(a.status, Status::ServFail);
  // Without ARES_FLAG_NOCHECKRESP c-ares 1.18 would ask `tries` times and report ECONNREFUSED.
  EXPECT_EQ(server.queries(), 1);
  auto plan = plan_mx(a, [](std::size_t) { return std::size_t{0}; });
  EXPECT_EQ(plan.failure->enhanced_status, "4.4.3");
  EXPECT_FALSE(plan.failure->permanent);
}

TEST(DnsResolverFailure, RefusedIsTemporary) {
  ScriptedDnsServer server(ScriptedDnsServer::rcode(5));
  asio::io_context io;
  Resolver resolver(io.get_executor(), options_for(server.address(), 1000, 1));
  EXPECT_EQ(await(io, resolver.mx("example.test")).status, Status::Refused);
}

TEST(DnsResolverFailure, ASilentServerTimesOutAfterEveryTry) {
  ScriptedDnsServer server(ScriptedDnsServer::silent());
  asio::io_context io;
  Resolver resolver(io.get_executor(), options_for(server.address(), 50, 2));
  auto a = await(io, resolver.mx("example.test"));
  EXPECT_EQ(a.status, Status::Timeout);
  EXPECT_EQ(server.queries(), 2);
  // Not cached: the next lookup asks again.
  EXPECT_EQ(await(io, resolver.mx("example.test")).status, Status::Timeout);
  EXPECT_EQ(resolver.stats().queries_sent, 2u);
}

TEST(DnsResolverFailure, AnUnreachableServerIsATemporaryError) {
  asio::io_context io;
  Resolver resolver(io.get_executor(), options_for(unused_udp_port(), 1000, 1));
  auto a = await(io, resolver.mx("example.test"));
  EXPECT_EQ(a.status, Status::TempError);
  EXPECT_TRUE(is_temporary(a.status));
}

TEST(DnsResolverFailure, AnUnparsableAnswerIsMalformed) {
  ScriptedDnsServer server([](const Bytes& q) {
    Bytes reply = testing::reply_with_rcode(q, 0);
    reply[7] = 1;  // one answer record, which is a pointer to nowhere
    for (std::uint8_t b : {0xC0, 0xFF, 0, 1, 0, 1}) reply.push_back(b);
    return std::optional<Bytes>(reply);
  });
  asio::io_context io;
  Resolver resolver(io.get_executor(), options_for(server.address(), 1000, 1));
  auto a = await(io, resolver.mx("example.test"));
  EXPECT_EQ(a.status, Status::Malformed);
  EXPECT_TRUE(is_temporary(a.status));
}

TEST(DnsResolverFailure, ANegativeAnswerLivesForItsSoaMinimum) {
  ScriptedDnsServer server([](const Bytes& q) {
    Bytes reply = testing::reply_with_rcode(q, 3);
    reply[9] = 1;  // one authority record: the zone's SOA, TTL 600, MINIMUM 120
    Bytes soa =
        testing::PacketBuilder().authority("example.test", 6, 600, testing::rdata_soa(120)).bytes();
    reply.insert(reply.end(), soa.begin() + 12, soa.end());
    return std::optional<Bytes>(reply);
  });
  asio::io_context io;
  Resolver resolver(io.get_executor(), options_for(server.address(), 1000, 1));
  auto a = await(io, resolver.mx("gone.example.test"));
  EXPECT_EQ(a.status, Status::NxDomain);
  EXPECT_EQ(a.ttl_s, 120u);  // RFC 2308 5
}

TEST(DnsResolverFailure, DestroyedWithLookupsInFlightTheyCompleteCancelled) {
  ScriptedDnsServer server(ScriptedDnsServer::silent());
  asio::io_context io;
  auto resolver =
      std::make_unique<Resolver>(io.get_executor(), options_for(server.address(), 10000, 1));
  std::vector<Status> statuses;
  auto record = [&](std::exception_ptr e, auto answer) {
    EXPECT_FALSE(e);
    statuses.push_back(answer.status);
  };
  asio::co_spawn(io, resolver->mx("example.test"), record);
  asio::co_spawn(io, resolver->mx("example.test"), record);  // shares the first one's query
  asio::co_spawn(io, resolver->addresses("mx.example.test"), record);
  asio::co_spawn(io, resolver->txt("example.test"), record);
  ASSERT_TRUE(testing::run_until(io, [&] { return server.queries() == 4; }));  // MX, A, AAAA, TXT
  EXPECT_TRUE(statuses.empty());

  resolver.reset();
  ASSERT_TRUE(testing::run_until(io, [&] { return statuses.size() == 4; }));
  for (Status s : statuses) EXPECT_EQ(s, Status::Cancelled);
  // Nothing of the resolver is left waiting on the io_context: it runs out of work.
  io.restart();
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped());
}

TEST(DnsResolverFailure, ACompletionMayDestroyTheResolver) {
  ScriptedDnsServer server(ScriptedDnsServer::rcode(3));
  asio::io_context io;
  auto resolver =
      std::make_unique<Resolver>(io.get_executor(), options_for(server.address(), 1000, 1));
  int completed = 0;
  auto destroy = [&](Answer) {
    resolver.reset();
    ++completed;
  };
  resolver->async_lookup("a.example.test", RrType::MX, destroy);
  resolver->async_lookup("b.example.test", RrType::MX, [&](Answer a) {
    EXPECT_TRUE(a.status == Status::Cancelled || a.status == Status::NxDomain);
    ++completed;
  });
  ASSERT_TRUE(testing::run_until(io, [&] { return completed == 2; }));
  EXPECT_FALSE(resolver);
}

TEST(DnsResolverFailure, ABadServerAddressIsRefusedAtConstruction) {
  asio::io_context io;
  EXPECT_THROW(Resolver(io.get_executor(), options_for("dns.example.test:53", 1000, 1)),
               std::invalid_argument);
}

}  // namespace
}  // namespace mailroom::dns
