#include "dns/cache.hpp"

#include <gtest/gtest.h>

namespace mailroom::dns {
namespace {

using std::chrono::seconds;

struct ManualClock {
  std::chrono::steady_clock::time_point now{};
  Clock clock() {
    return [this] { return now; };
  }
};

Answer answer(std::string name, RrType type, Status status, std::uint32_t ttl_s) {
  Answer a = failed_answer(name, type, status);
  a.ttl_s = ttl_s;
  if (status == Status::Ok) {
    ResourceRecord rr;
    rr.owner = name;
    rr.type = type;
    rr.ttl_s = ttl_s;
    rr.data = asio::ip::make_address_v4("192.0.2.1");
    a.records.push_back(rr);
  }
  return a;
}

TEST(DnsCache, AnswersUntilTheTtlRunsOutWithTheTtlCountingDown) {
  ManualClock time;
  AnswerCache cache(100, time.clock());
  cache.store(answer("h.test", RrType::A, Status::Ok, 300));

  time.now += seconds(100);
  auto hit = cache.find("h.test", RrType::A);
  ASSERT_TRUE(hit);
  EXPECT_TRUE(hit->from_cache);
  EXPECT_EQ(hit->ttl_s, 200u);
  EXPECT_EQ(hit->records.at(0).ttl_s, 200u);

  time.now += seconds(199);
  EXPECT_TRUE(cache.find("h.test", RrType::A));
  time.now += seconds(1);  // 300 s after it was stored: past its TTL
  EXPECT_FALSE(cache.find("h.test", RrType::A));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DnsCache, KeysByNameAndType) {
  ManualClock time;
  AnswerCache cache(100, time.clock());
  cache.store(answer("h.test", RrType::A, Status::Ok, 300));
  EXPECT_FALSE(cache.find("h.test", RrType::AAAA));
  EXPECT_FALSE(cache.find("g.test", RrType::A));
}

TEST(DnsCache, KeepsNegativeAnswersButNotFailuresOrZeroTtls) {
  ManualClock time;
  AnswerCache cache(100, time.clock());
  cache.store(answer("gone.test", RrType::MX, Status::NxDomain, 60));
  cache.store(answer("nomx.test", RrType::MX, Status::NoData, 60));
  cache.store(answer("broken.test", RrType::MX, Status::ServFail, 60));
  cache.store(answer("slow.test", RrType::MX, Status::Timeout, 60));
  cache.store(answer("once.test", RrType::MX, Status::Ok, 0));  // RFC 1035 3.2.1: do not cache
  EXPECT_EQ(cache.find("gone.test", RrType::MX)->status, Status::NxDomain);
  EXPECT_EQ(cache.find("nomx.test", RrType::MX)->status, Status::NoData);
  EXPECT_FALSE(cache.find("broken.test", RrType::MX));
  EXPECT_FALSE(cache.find("slow.test", RrType::MX));
  EXPECT_FALSE(cache.find("once.test", RrType::MX));
}

TEST(DnsCache, EvictsTheLeastRecentlyUsedBeyondItsBound) {
  ManualClock time;
  AnswerCache cache(2, time.clock());
  cache.store(answer("a.test", RrType::A, Status::Ok, 300));
  cache.store(answer("b.test", RrType::A, Status::Ok, 300));
  EXPECT_TRUE(cache.find("a.test", RrType::A));  // b.test is now the least recently used
  cache.store(answer("c.test", RrType::A, Status::Ok, 300));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.find("a.test", RrType::A));
  EXPECT_FALSE(cache.find("b.test", RrType::A));
  EXPECT_TRUE(cache.find("c.test", RrType::A));
}

TEST(DnsCache, ANewerAnswerReplacesTheOldOne) {
  ManualClock time;
  AnswerCache cache(10, time.clock());
  cache.store(answer("a.test", RrType::A, Status::NxDomain, 60));
  cache.store(answer("a.test", RrType::A, Status::Ok, 300));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.find("a.test", RrType::A)->status, Status::Ok);
}

TEST(DnsCache, ABoundOfZeroKeepsNothing) {
  AnswerCache cache(0, {});
  cache.store(answer("a.test", RrType::A, Status::Ok, 300));
  EXPECT_FALSE(cache.find("a.test", RrType::A));
}

}  // namespace
}  // namespace mailroom::dns
