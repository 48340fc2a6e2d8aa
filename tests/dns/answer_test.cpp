#include "dns/answer.hpp"

#include <gtest/gtest.h>

#include "dns/typed_answers.hpp"
#include "packet_builder.hpp"

namespace mailroom::dns {
namespace {

using testing::PacketBuilder;
using testing::rdata_a;
using testing::wire_name;

constexpr std::uint16_t kA = 1, kCname = 5, kSoa = 6, kMx = 15, kAaaa = 28;

Answer interpret(const PacketBuilder& packet, std::string_view name, RrType type,
                 TtlLimits limits = {}) {
  auto message = parse_message(packet.bytes());
  EXPECT_TRUE(message);
  return interpret_response(*message, name, type, limits);
}

TEST(DnsAnswer, APositiveAnswerLivesForItsSmallestTtl) {
  auto a = interpret(PacketBuilder()
                         .question("h.test", kA)
                         .answer("h.test", kA, 300, rdata_a(192, 0, 2, 1))
                         .answer("h.test", kA, 120, rdata_a(192, 0, 2, 2)),
                     "h.test", RrType::A);
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_EQ(a.ttl_s, 120u);  // RFC 2181 5.2
  EXPECT_EQ(a.records.size(), 2u);
  EXPECT_EQ(a.canonical_name, "h.test");
}

TEST(DnsAnswer, FollowsACnameChainAndCountsItsTtls) {
  auto a = interpret(PacketBuilder()
                         .question("www.test", kA)
                         .answer("www.test", kCname, 30, wire_name("edge.test"))
                         .answer("edge.test", kCname, 600, wire_name("host.test"))
                         .answer("host.test", kA, 600, rdata_a(192, 0, 2, 9))
                         .answer("other.test", kA, 600, rdata_a(192, 0, 2, 10)),
                     "www.test", RrType::A);
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_EQ(a.canonical_name, "host.test");
  ASSERT_EQ(a.records.size(), 1u);  // other.test is not on the chain
  EXPECT_EQ(a.ttl_s, 30u);
}

TEST(DnsAnswer, AChainEndingWithoutTheTypeIsNoData) {
  auto a = interpret(PacketBuilder()
                         .question("www.test", kAaaa)
                         .answer("www.test", kCname, 300, wire_name("host.test")),
                     "www.test", RrType::AAAA);
  EXPECT_EQ(a.status, Status::NoData);
  EXPECT_EQ(a.canonical_name, "host.test");
}

TEST(DnsAnswer, ACnameLoopIsMalformed) {
  auto a = interpret(PacketBuilder()
                         .question("a.test", kA)
                         .answer("a.test", kCname, 300, wire_name("b.test"))
                         .answer("b.test", kCname, 300, wire_name("a.test")),
                     "a.test", RrType::A);
  EXPECT_EQ(a.status, Status::Malformed);
  EXPECT_TRUE(is_temporary(a.status));
}

TEST(DnsAnswer, ANegativeAnswerLivesForTheSoaMinimumOrTheSoaTtl) {
  // RFC 2308 5: min(SOA TTL, SOA MINIMUM).
  auto by_minimum = interpret(PacketBuilder(1, 0x8183)
                                  .question("gone.test", kMx)
                                  .authority("test", kSoa, 900, testing::rdata_soa(120)),
                              "gone.test", RrType::MX);
  EXPECT_EQ(by_minimum.status, Status::NxDomain);
  EXPECT_EQ(by_minimum.ttl_s, 120u);

  auto by_ttl = interpret(PacketBuilder()
                              .question("nomx.test", kMx)
                              .authority("test", kSoa, 45, testing::rdata_soa(3000)),
                          "nomx.test", RrType::MX);
  EXPECT_EQ(by_ttl.status, Status::NoData);
  EXPECT_EQ(by_ttl.ttl_s, 45u);
}

TEST(DnsAnswer, ANegativeAnswerWithoutSoaGetsTheDefaultLifetime) {
  TtlLimits limits;
  limits.default_negative_ttl_s = 17;
  auto a = interpret(PacketBuilder(1, 0x8183).question("gone.test", kMx), "gone.test", RrType::MX,
                     limits);
  EXPECT_EQ(a.status, Status::NxDomain);
  EXPECT_EQ(a.ttl_s, 17u);
}

TEST(DnsAnswer, LifetimesAreCapped) {
  TtlLimits limits;
  limits.max_ttl_s = 100;
  limits.max_negative_ttl_s = 50;
  auto positive = interpret(
      PacketBuilder().question("h.test", kA).answer("h.test", kA, 999999, rdata_a(192, 0, 2, 1)),
      "h.test", RrType::A, limits);
  EXPECT_EQ(positive.ttl_s, 100u);
  auto negative = interpret(PacketBuilder(1, 0x8183)
                                .question("gone.test", kA)
                                .authority("test", kSoa, 86400, testing::rdata_soa(86400)),
                            "gone.test", RrType::A, limits);
  EXPECT_EQ(negative.ttl_s, 50u);
}

TEST(DnsAnswer, ServerFailuresAreTemporaryAndNotKept) {
  auto servfail = interpret(PacketBuilder(1, 0x8182).question("h.test", kA), "h.test", RrType::A);
  EXPECT_EQ(servfail.status, Status::ServFail);
  EXPECT_EQ(servfail.ttl_s, 0u);
  auto refused = interpret(PacketBuilder(1, 0x8185).question("h.test", kA), "h.test", RrType::A);
  EXPECT_EQ(refused.status, Status::Refused);
  auto formerr = interpret(PacketBuilder(1, 0x8181).question("h.test", kA), "h.test", RrType::A);
  EXPECT_EQ(formerr.status, Status::TempError);
  for (auto s : {servfail.status, refused.status, formerr.status}) EXPECT_TRUE(is_temporary(s));
}

TEST(DnsTypedAnswers, MxRecordsComeByPreferenceAndANullMxIsFlagged) {
  auto a = interpret(PacketBuilder()
                         .question("d.test", kMx)
                         .answer("d.test", kMx, 300, testing::rdata_mx(20, "c.test"))
                         .answer("d.test", kMx, 300, testing::rdata_mx(10, "b.test"))
                         .answer("d.test", kMx, 300, testing::rdata_mx(10, "a.test")),
                     "d.test", RrType::MX);
  auto mx = to_mx_answer(a);
  EXPECT_EQ(mx.status, Status::Ok);
  EXPECT_FALSE(mx.null_mx);
  EXPECT_EQ(mx.records, (std::vector<MxRecord>{{10, "b.test"}, {10, "a.test"}, {20, "c.test"}}));

  auto null = to_mx_answer(interpret(
      PacketBuilder().question("n.test", kMx).answer("n.test", kMx, 300, testing::rdata_mx(0, ".")),
      "n.test", RrType::MX));
  EXPECT_TRUE(null.null_mx);

  auto mixed =
      to_mx_answer(interpret(PacketBuilder()
                                 .question("m.test", kMx)
                                 .answer("m.test", kMx, 300, testing::rdata_mx(0, "."))
                                 .answer("m.test", kMx, 300, testing::rdata_mx(10, "a.test")),
                             "m.test", RrType::MX));
  EXPECT_FALSE(mixed.null_mx);  // misconfigured, and not a null MX (RFC 7505 3)
}

Answer with_status(RrType type, Status status, std::uint32_t ttl = 60) {
  Answer a = failed_answer("h.test", type, status);
  a.ttl_s = ttl;
  return a;
}

TEST(DnsTypedAnswers, AddressesTakeEitherFamilyAndLetASoftErrorDominate) {
  Answer v4 = interpret(
      PacketBuilder().question("h.test", kA).answer("h.test", kA, 300, rdata_a(192, 0, 2, 1)),
      "h.test", RrType::A);
  auto ok = merge_address_answers(v4, with_status(RrType::AAAA, Status::Timeout));
  EXPECT_EQ(ok.status, Status::Ok);
  EXPECT_EQ(ok.ipv6_status, Status::Timeout);
  ASSERT_EQ(ok.addresses.size(), 1u);
  EXPECT_EQ(ok.addresses[0].to_string(), "192.0.2.1");

  auto soft = merge_address_answers(with_status(RrType::A, Status::NxDomain),
                                    with_status(RrType::AAAA, Status::ServFail));
  EXPECT_EQ(soft.status, Status::ServFail);
  auto gone = merge_address_answers(with_status(RrType::A, Status::NxDomain),
                                    with_status(RrType::AAAA, Status::NxDomain));
  EXPECT_EQ(gone.status, Status::NxDomain);
  auto empty = merge_address_answers(with_status(RrType::A, Status::NoData),
                                     with_status(RrType::AAAA, Status::NoData, 30));
  EXPECT_EQ(empty.status, Status::NoData);
  EXPECT_EQ(empty.ttl_s, 30u);
}

}  // namespace
}  // namespace mailroom::dns
