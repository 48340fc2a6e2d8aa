// The resolver against a private dnsmasq serving example.test (tests/dns/dnsmasq_server.hpp).
#include "dns/resolver.hpp"

#include <gtest/gtest.h>

#include <set>

#include "dns/mx_plan.hpp"
#include "dnsmasq_server.hpp"
#include "run_io.hpp"

namespace mailroom::dns {
namespace {

using testing::await;
using testing::DnsmasqServer;

class DnsResolver : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new DnsmasqServer;
    error_ = server_->start(testing::example_test_zone());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(error_.empty()) << error_;
    ResolverOptions options;
    options.servers = {server_->address()};
    options.clock = [this] { return now_; };
    resolver_ = std::make_unique<Resolver>(io_.get_executor(), options);
  }

  std::set<std::string> exchanges(const MxAnswer& a) {
    std::set<std::string> out;
    for (const auto& r : a.records) out.insert(r.exchange);
    return out;
  }

  static inline DnsmasqServer* server_ = nullptr;
  static inline std::string error_;
  asio::io_context io_;
  std::chrono::steady_clock::time_point now_{};
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(DnsResolver, MxRecordsByPreferenceWithTheirTtl) {
  auto a = await(io_, resolver_->mx("example.test"));
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_EQ(a.ttl_s, 300u);
  EXPECT_FALSE(a.null_mx);
  EXPECT_FALSE(a.from_cache);
  ASSERT_EQ(a.records.size(), 3u);
  EXPECT_EQ(a.records[0].preference, 10);
  EXPECT_EQ(a.records[1].preference, 10);
  EXPECT_EQ(a.records[2], (MxRecord{20, "mx3.example.test"}));
  EXPECT_EQ(exchanges(a),
            (std::set<std::string>{"mx1.example.test", "mx2.example.test", "mx3.example.test"}));
}

TEST_F(DnsResolver, ANullMxIsFlaggedAndPlansToNothing) {
  auto a = await(io_, resolver_->mx("nullmx.example.test"));
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_TRUE(a.null_mx);
  auto plan = plan_mx(a, [](std::size_t) { return std::size_t{0}; });
  EXPECT_TRUE(plan.hosts.empty());
  EXPECT_EQ(plan.failure->enhanced_status, "5.1.10");
}

TEST_F(DnsResolver, ADomainWithoutMxIsNoDataAndItsOwnMx) {
  auto a = await(io_, resolver_->mx("nomx.example.test"));
  EXPECT_EQ(a.status, Status::NoData);
  auto plan = plan_mx(a, [](std::size_t) { return std::size_t{0}; });
  ASSERT_EQ(plan.hosts.size(), 1u);
  EXPECT_TRUE(plan.hosts[0].implicit);
  auto host = await(io_, resolver_->addresses(plan.hosts[0].name));
  EXPECT_EQ(host.status, Status::Ok);
  ASSERT_EQ(host.addresses.size(), 1u);
  EXPECT_EQ(host.addresses[0].to_string(), "192.0.2.20");
  EXPECT_EQ(host.ipv6_status, Status::NoData);
}

TEST_F(DnsResolver, AnUnknownNameIsNxDomain) {
  auto a = await(io_, resolver_->mx("nope.example.test"));
  EXPECT_EQ(a.status, Status::NxDomain);
  EXPECT_EQ(a.ttl_s, TtlLimits{}.default_negative_ttl_s);  // dnsmasq sends no SOA
  auto plan = plan_mx(a, [](std::size_t) { return std::size_t{0}; });
  EXPECT_EQ(plan.failure->enhanced_status, "5.1.2");
}

TEST_F(DnsResolver, AddressesOfBothFamiliesAndOfEither) {
  auto both = await(io_, resolver_->addresses("mx1.example.test"));
  EXPECT_EQ(both.status, Status::Ok);
  ASSERT_EQ(both.addresses.size(), 2u);
  EXPECT_EQ(both.addresses[0].to_string(), "192.0.2.10");
  EXPECT_EQ(both.addresses[1].to_string(), "2001:db8::10");

  auto v4 = await(io_, resolver_->ipv4("mx2.example.test"));
  EXPECT_EQ(v4.status, Status::Ok);
  EXPECT_EQ(v4.addresses.at(0).to_string(), "192.0.2.11");

  auto v6only = await(io_, resolver_->addresses("v6only.example.test"));
  EXPECT_EQ(v6only.status, Status::Ok);
  EXPECT_EQ(v6only.ipv4_status, Status::NoData);
  EXPECT_EQ(v6only.addresses.at(0).to_string(), "2001:db8::30");
  EXPECT_EQ(await(io_, resolver_->ipv6("mx2.example.test")).status, Status::NoData);
}

TEST_F(DnsResolver, AnMxTargetBehindACnameIsFollowedAndShown) {
  auto mx = await(io_, resolver_->mx("cnamemx.example.test"));
  ASSERT_EQ(mx.records.size(), 1u);
  EXPECT_EQ(mx.records[0].exchange, "alias.example.test");
  auto host = await(io_, resolver_->addresses("alias.example.test"));
  EXPECT_EQ(host.status, Status::Ok);
  EXPECT_EQ(host.canonical_name, "mx1.example.test");
  EXPECT_EQ(host.addresses.at(0).to_string(), "192.0.2.10");
}

TEST_F(DnsResolver, ReverseLookups) {
  auto v4 = await(io_, resolver_->ptr(asio::ip::make_address("192.0.2.10")));
  EXPECT_EQ(v4.status, Status::Ok);
  EXPECT_EQ(v4.name, "10.2.0.192.in-addr.arpa");
  EXPECT_EQ(v4.hosts, (std::vector<std::string>{"mx1.example.test"}));
  auto v6 = await(io_, resolver_->ptr(asio::ip::make_address("2001:db8::10")));
  EXPECT_EQ(v6.hosts, (std::vector<std::string>{"mx1.example.test"}));
  auto explicit_ptr = await(io_, resolver_->ptr(asio::ip::make_address("192.0.2.99")));
  EXPECT_EQ(explicit_ptr.hosts, (std::vector<std::string>{"mail.example.test"}));
}

TEST_F(DnsResolver, TxtRecordsKeepTheirStrings) {
  auto spf = await(io_, resolver_->txt("example.test"));
  EXPECT_EQ(spf.status, Status::Ok);
  ASSERT_EQ(spf.records.size(), 1u);
  EXPECT_EQ(spf.records[0].joined(), "v=spf1 mx -all");
  auto multi = await(io_, resolver_->txt("multi.example.test"));
  ASSERT_EQ(multi.records.size(), 1u);
  EXPECT_EQ(multi.records[0].strings,
            (std::vector<std::string>{"first string", "second string", "third"}));
}

TEST_F(DnsResolver, AnAnswerTooBigForUdpComesOverTcp) {
  auto big = await(io_, resolver_->txt("big.example.test"));
  EXPECT_EQ(big.status, Status::Ok);
  ASSERT_EQ(big.records.size(), 1u);
  ASSERT_EQ(big.records[0].strings.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(big.records[0].strings[i], testing::big_txt_part(i));
}

TEST_F(DnsResolver, AnyTypeThroughTheGenericQuery) {
  auto a = await(io_, resolver_->query("example.test", RrType::TXT));
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_EQ(a.type, RrType::TXT);
  EXPECT_EQ(a.records.size(), 1u);
}

TEST_F(DnsResolver, ANameOutsideTheServersZonesIsRefused) {
  // dnsmasq with --no-resolv answers REFUSED for names it does not serve.
  auto a = await(io_, resolver_->addresses("example.com"));
  EXPECT_EQ(a.status, Status::Refused);
  EXPECT_TRUE(is_temporary(a.status));
}

TEST_F(DnsResolver, ABadNameIsNeverSent) {
  auto a = await(io_, resolver_->mx("bad..example.test"));
  EXPECT_EQ(a.status, Status::BadName);
  EXPECT_EQ(resolver_->stats().queries_sent, 0u);
}

TEST_F(DnsResolver, AnswersComeFromTheCacheUntilTheirTtlEnds) {
  await(io_, resolver_->mx("example.test"));
  now_ += std::chrono::seconds(299);
  auto cached = await(io_, resolver_->mx("Example.TEST."));  // one question, however spelled
  EXPECT_TRUE(cached.from_cache);
  EXPECT_EQ(cached.ttl_s, 1u);
  EXPECT_EQ(cached.records.size(), 3u);
  EXPECT_EQ(resolver_->stats().queries_sent, 1u);
  EXPECT_EQ(resolver_->stats().cache_hits, 1u);

  now_ += std::chrono::seconds(1);
  auto fresh = await(io_, resolver_->mx("example.test"));
  EXPECT_FALSE(fresh.from_cache);
  EXPECT_EQ(resolver_->stats().queries_sent, 2u);
}

TEST_F(DnsResolver, NegativeAnswersAreCachedToo) {
  await(io_, resolver_->mx("nope.example.test"));
  auto again = await(io_, resolver_->mx("nope.example.test"));
  EXPECT_EQ(again.status, Status::NxDomain);
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(resolver_->stats().queries_sent, 1u);
  now_ += std::chrono::seconds(TtlLimits{}.default_negative_ttl_s);
  await(io_, resolver_->mx("nope.example.test"));
  EXPECT_EQ(resolver_->stats().queries_sent, 2u);
}

TEST_F(DnsResolver, IdenticalLookupsInFlightShareOneQuery) {
  std::vector<MxAnswer> answers;
  for (int i = 0; i < 25; ++i) {
    asio::co_spawn(io_, resolver_->mx("example.test"),
                   [&](std::exception_ptr, MxAnswer a) { answers.push_back(std::move(a)); });
  }
  ASSERT_TRUE(testing::run_until(io_, [&] { return answers.size() == 25; }));
  EXPECT_EQ(resolver_->stats().queries_sent, 1u);
  EXPECT_EQ(resolver_->stats().shared, 24u);
  for (const auto& a : answers) {
    EXPECT_EQ(a.status, Status::Ok);
    EXPECT_EQ(a.records.size(), 3u);
  }
}

TEST_F(DnsResolver, ManyDifferentLookupsAtOnce) {
  constexpr int kLookups = 300;
  std::vector<std::optional<AddressAnswer>> answers(kLookups);
  int done = 0;
  for (int i = 0; i < kLookups; ++i) {
    // Every third name exists; the others are NXDOMAIN, each its own question.
    std::string name =
        i % 3 == 0 ? "mx1.example.test" : "host" + std::to_string(i) + ".example.test";
    asio::co_spawn(io_, resolver_->addresses(name), [&, i](std::exception_ptr, AddressAnswer a) {
      answers[i] = std::move(a);
      ++done;
    });
  }
  ASSERT_TRUE(testing::run_until(io_, [&] { return done == kLookups; }));
  for (int i = 0; i < kLookups; ++i) {
    ASSERT_TRUE(answers[i]);
    if (i % 3 == 0) {
      EXPECT_EQ(answers[i]->status, Status::Ok) << i;
      EXPECT_EQ(answers[i]->addresses.size(), 2u) << i;
    } else {
      EXPECT_EQ(answers[i]->status, Status::NxDomain) << i;
    }
  }
  // A and AAAA for mx1 once, and for each of the 200 other names.
  EXPECT_EQ(resolver_->stats().queries_sent, 2u + 2u * 200u);
}

TEST_F(DnsResolver, TheCallbackFormNeverCompletesInline) {
  bool returned = false;
  std::optional<Answer> answer;
  resolver_->async_lookup("bad..test", RrType::A, [&](Answer a) {
    EXPECT_TRUE(returned);
    answer = std::move(a);
  });
  returned = true;
  ASSERT_TRUE(testing::run_until(io_, [&] { return answer.has_value(); }));
  EXPECT_EQ(answer->status, Status::BadName);
}

}  // namespace
}  // namespace mailroom::dns
