#include "dns/mx_plan.hpp"

#include <gtest/gtest.h>

#include <set>

namespace mailroom::dns {
namespace {

MxAnswer mx_answer(std::vector<MxRecord> records) {
  MxAnswer a;
  a.domain = "example.test";
  a.status = Status::Ok;
  a.ttl_s = 300;
  a.records = std::move(records);
  a.null_mx = a.records.size() == 1 && a.records[0].exchange == ".";
  return a;
}

MxAnswer failed(Status status) {
  MxAnswer a;
  a.domain = "example.test";
  a.status = status;
  return a;
}

// Always picks the first candidate: Fisher-Yates then rotates each run of equal preference.
std::size_t first(std::size_t) { return 0; }
// Always picks the last candidate: the order is left as it was.
std::size_t last(std::size_t n) { return n - 1; }

std::vector<std::string> names(const MxPlan& plan) {
  std::vector<std::string> out;
  for (const auto& h : plan.hosts) out.push_back(h.name);
  return out;
}

TEST(MxPlan, ByPreferenceWithEqualPreferencesShuffled) {
  auto answer = mx_answer({{20, "c.test"}, {10, "a.test"}, {10, "b.test"}, {30, "d.test"}});
  EXPECT_EQ(names(plan_mx(answer, last)),
            (std::vector<std::string>{"a.test", "b.test", "c.test", "d.test"}));
  EXPECT_EQ(names(plan_mx(answer, first)),
            (std::vector<std::string>{"b.test", "a.test", "c.test", "d.test"}));
  auto plan = plan_mx(answer, last);
  EXPECT_TRUE(plan.warnings.empty());
  EXPECT_FALSE(plan.failure);
  EXPECT_EQ(plan.hosts[2].preference, 20);
}

TEST(MxPlan, EveryOrderOfEqualPreferencesTurnsUpWithARealRandomSource) {
  auto answer = mx_answer({{10, "a.test"}, {10, "b.test"}, {10, "c.test"}, {5, "first.test"}});
  std::mt19937_64 engine(42);
  std::set<std::vector<std::string>> orders;
  for (int i = 0; i < 200; ++i) {
    auto order = names(plan_mx(answer, random_index_from(engine)));
    EXPECT_EQ(order.front(), "first.test");
    orders.insert(order);
  }
  EXPECT_EQ(orders.size(), 6u);  // 3! orders of the preference-10 hosts
}

TEST(MxPlan, NoMxRecordMeansTheDomainItself) {
  auto plan = plan_mx(failed(Status::NoData), first);
  ASSERT_EQ(plan.hosts.size(), 1u);  // RFC 5321 5.1 implicit MX
  EXPECT_EQ(plan.hosts[0], (MxHost{"example.test", 0, true, std::nullopt}));
  EXPECT_FALSE(plan.failure);
}

TEST(MxPlan, ANullMxIsAPermanentFailureWithNothingToTry) {
  auto plan = plan_mx(mx_answer({{0, "."}}), first);
  EXPECT_TRUE(plan.hosts.empty());
  ASSERT_TRUE(plan.failure);
  EXPECT_TRUE(plan.failure->permanent);
  EXPECT_EQ(plan.failure->enhanced_status, "5.1.10");
  EXPECT_EQ(plan.failure->text, "Domain example.test does not accept mail (nullMX)");
}

TEST(MxPlan, ADotBesideRealMxRecordsIsSkippedWithAWarning) {
  auto plan = plan_mx(mx_answer({{0, "."}, {10, "a.test"}}), first);
  EXPECT_EQ(names(plan), (std::vector<std::string>{"a.test"}));
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_NE(plan.warnings[0].find("null MX"), std::string::npos);
  // Only dots, whatever their preference: a null MX all the same.
  auto dots = plan_mx(mx_answer({{10, "."}, {20, "."}}), first);
  ASSERT_TRUE(dots.failure);
  EXPECT_EQ(dots.failure->enhanced_status, "5.1.10");
}

TEST(MxPlan, FailedLookupsGiveNoHostsAndNoImplicitMx) {
  auto gone = plan_mx(failed(Status::NxDomain), first);
  EXPECT_TRUE(gone.hosts.empty());
  ASSERT_TRUE(gone.failure);
  EXPECT_TRUE(gone.failure->permanent);
  EXPECT_EQ(gone.failure->enhanced_status, "5.1.2");
  EXPECT_EQ(gone.failure->text,
            "Host or domain name not found. Name service error for name=example.test type=MX: "
            "Host not found");
  for (auto status : {Status::ServFail, Status::Timeout, Status::Refused, Status::TempError,
                      Status::Malformed, Status::Cancelled}) {
    auto plan = plan_mx(failed(status), first);
    EXPECT_TRUE(plan.hosts.empty()) << to_string(status);
    ASSERT_TRUE(plan.failure);
    EXPECT_FALSE(plan.failure->permanent);
    EXPECT_EQ(plan.failure->enhanced_status, "4.4.3") << to_string(status);
    EXPECT_EQ(plan.failure->detail, to_string(status));
  }
}

TEST(MxPlan, ADuplicateHostIsTriedOnceAtItsBestPreference) {
  auto plan = plan_mx(mx_answer({{20, "a.test"}, {10, "a.test"}, {15, "b.test"}}), last);
  EXPECT_EQ(names(plan), (std::vector<std::string>{"a.test", "b.test"}));
  EXPECT_EQ(plan.hosts[0].preference, 10);
}

TEST(MxPlan, AtMostTenHosts) {
  std::vector<MxRecord> records;
  for (int i = 0; i < 15; ++i)
    records.push_back({static_cast<std::uint16_t>(i), "mx" + std::to_string(i) + ".test"});
  auto plan = plan_mx(mx_answer(records), last);
  ASSERT_EQ(plan.hosts.size(), 10u);
  EXPECT_EQ(plan.hosts.back().name, "mx9.test");
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_EQ(plan.warnings[0], "MX list for example.test has 15 hosts: trying the first 10");
  EXPECT_EQ(plan_mx(mx_answer(records), last, MxPlanLimits{3}).hosts.size(), 3u);
}

TEST(MxPlan, AnAddressAsExchangeIsUsedAsThatAddressWithAWarning) {
  auto plan = plan_mx(mx_answer({{10, "192.0.2.25"}, {20, "b.test"}}), last);
  ASSERT_EQ(plan.hosts.size(), 2u);
  ASSERT_TRUE(plan.hosts[0].literal);
  EXPECT_EQ(plan.hosts[0].literal->to_string(), "192.0.2.25");
  EXPECT_FALSE(plan.hosts[1].literal);
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_EQ(plan.warnings[0],
            "numeric domain name in resource data of MX record for example.test: 192.0.2.25");
}

}  // namespace
}  // namespace mailroom::dns
