#include "dns/wire.hpp"

#include <gtest/gtest.h>

#include "packet_builder.hpp"

namespace mailroom::dns {
namespace {

using testing::Bytes;
using testing::from_hex;
using testing::PacketBuilder;

// dnsmasq 2.90 answering "example.test MX": three MX (owners compressed to the question), and
// the A and AAAA of mx1 in the additional section.
const Bytes kDnsmasqMx = from_hex(
    "123485800001000300000002076578616d706c65047465737400000f0001c00c000f00010000012c0014001403"
    "6d7833076578616d706c65047465737400c00c000f00010000012c0014000a036d7832076578616d706c650474"
    "65737400c00c000f00010000012c0014000a036d7831076578616d706c65047465737400c06c00010001000001"
    "2c00047f000001c06c001c00010000012c001000000000000000000000000000000001");
// "nullmx.example.test MX": 0 .
const Bytes kDnsmasqNullMx = from_hex(
    "123485800001000100000000066e756c6c6d78076578616d706c65047465737400000f0001c00c000f00010000"
    "012c0003000000");
// "multi.example.test TXT": one record of two strings.
const Bytes kDnsmasqTxt = from_hex(
    "123485800001000100000000056d756c7469076578616d706c65047465737400001000"
    "01c00c001000010000012c00180b763d73706631202d616c6c0b7365636f6e642070617274");
// "alias.example.test A": CNAME to mx1.example.test, then its A.
const Bytes kDnsmasqCname = from_hex(
    "12348580000100020000000005616c696173076578616d706c6504746573740000010001c00c00050001000001"
    "2c0012036d7831076578616d706c65047465737400c030000100010000012c00047f000001");
// "nope.example.test MX": NXDOMAIN, no SOA (dnsmasq's --local answers carry none).
const Bytes kDnsmasqNxDomain =
    from_hex("123481830001000000000000046e6f7065076578616d706c65047465737400000f0001");

TEST(DnsWire, ParsesAnMxAnswerWithCompressedNames) {
  auto m = parse_message(kDnsmasqMx);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, 0x1234);
  EXPECT_EQ(m->rcode, kRcodeNoError);
  EXPECT_EQ(m->question_name, "example.test");
  EXPECT_EQ(m->question_type, RrType::MX);
  ASSERT_EQ(m->answers.size(), 3u);
  EXPECT_EQ(m->answers[0].owner, "example.test");
  EXPECT_EQ(m->answers[0].ttl_s, 300u);
  EXPECT_EQ(std::get<MxData>(m->answers[0].data), (MxData{20, "mx3.example.test"}));
  EXPECT_EQ(std::get<MxData>(m->answers[1].data), (MxData{10, "mx2.example.test"}));
  EXPECT_EQ(std::get<MxData>(m->answers[2].data), (MxData{10, "mx1.example.test"}));
  EXPECT_TRUE(m->authority.empty());
}

TEST(DnsWire, ReadsTheNullMxExchangeAsTheRoot) {
  auto m = parse_message(kDnsmasqNullMx);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(std::get<MxData>(m->answers[0].data), (MxData{0, "."}));
}

TEST(DnsWire, KeepsEachStringOfATxtRecord) {
  auto m = parse_message(kDnsmasqTxt);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->answers.size(), 1u);
  const auto& txt = std::get<TxtData>(m->answers[0].data);
  EXPECT_EQ(txt.strings, (std::vector<std::string>{"v=spf1 -all", "second part"}));
  EXPECT_EQ(txt.joined(), "v=spf1 -allsecond part");
}

TEST(DnsWire, ParsesACnameAndItsTarget) {
  auto m = parse_message(kDnsmasqCname);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->answers.size(), 2u);
  EXPECT_EQ(m->answers[0].type, RrType::CNAME);
  EXPECT_EQ(std::get<std::string>(m->answers[0].data), "mx1.example.test");
  EXPECT_EQ(m->answers[1].owner, "mx1.example.test");
  EXPECT_EQ(std::get<asio::ip::address_v4>(m->answers[1].data).to_string(), "127.0.0.1");
}

TEST(DnsWire, ReadsTheRcode) {
  auto m = parse_message(kDnsmasqNxDomain);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rcode, kRcodeNxDomain);
  EXPECT_TRUE(m->answers.empty());
}

TEST(DnsWire, ParsesAnSoaInTheAuthoritySection) {
  auto bytes = PacketBuilder(1, 0x8183)
                   .question("gone.example.test", 1)
                   .authority("example.test", 6, 900, testing::rdata_soa(300))
                   .bytes();
  auto m = parse_message(bytes);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->authority.size(), 1u);
  const auto& soa = std::get<SoaData>(m->authority[0].data);
  EXPECT_EQ(soa.mname, "ns.example.test");
  EXPECT_EQ(soa.rname, "hostmaster.example.test");
  EXPECT_EQ(soa.minimum, 300u);
  EXPECT_EQ(m->authority[0].ttl_s, 900u);
}

TEST(DnsWire, LowercasesNamesAndEscapesDotsBackslashesAndBinaryInLabels) {
  Bytes bytes = PacketBuilder().question("x.test", 12).bytes();
  bytes[7] = 1;  // one answer, written by hand
  Bytes rr = {0xC0, 12, 0,   12,  0,   1,    0,    0,   0,   60,  0,
              10,   8,  'M', 'x', '.', '\\', 0x01, ' ', 'A', 'Z', 0};
  bytes.insert(bytes.end(), rr.begin(), rr.end());
  auto m = parse_message(bytes);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(std::get<std::string>(m->answers[0].data), "mx\\.\\\\\\001\\032az");
}

TEST(DnsWire, ReadsATtlWithTheTopBitSetAsZero) {
  auto bytes = PacketBuilder()
                   .question("a.test", 1)
                   .answer("a.test", 1, 0x80000001u, testing::rdata_a(192, 0, 2, 1))
                   .bytes();
  auto m = parse_message(bytes);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->answers.at(0).ttl_s, 0u);  // RFC 2181 8
}

TEST(DnsWire, DropsRecordsOfAnotherClass) {
  auto bytes = PacketBuilder()
                   .question("a.test", 1)
                   .answer("a.test", 1, 60, testing::rdata_a(192, 0, 2, 1), /*CHAOS*/ 3)
                   .answer("a.test", 1, 60, testing::rdata_a(192, 0, 2, 2))
                   .bytes();
  auto m = parse_message(bytes);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(std::get<asio::ip::address_v4>(m->answers[0].data).to_string(), "192.0.2.2");
}

TEST(DnsWire, KeepsTheBytesOfTypesItDoesNotDecode) {
  Bytes tlsa = {3, 1, 1, 0xAB, 0xCD};
  auto bytes = PacketBuilder()
                   .question("_25._tcp.mx.test", 52)
                   .answer("_25._tcp.mx.test", 52, 60, tlsa)
                   .bytes();
  auto m = parse_message(bytes);
  ASSERT_TRUE(m);
  EXPECT_EQ(to_string(m->answers.at(0).type), "TYPE52");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(m->answers[0].data));
  EXPECT_EQ(m->answers[0].rdata, tlsa);
}

TEST(DnsWire, RejectsEveryTruncationOfAResponse) {
  for (std::size_t n = 0; n < kDnsmasqNullMx.size(); ++n) {
    std::span<const std::uint8_t> prefix(kDnsmasqNullMx.data(), n);
    EXPECT_FALSE(parse_message(prefix)) << n << " octets";
  }
}

TEST(DnsWire, RejectsAQuery) {
  Bytes query = kDnsmasqNullMx;
  query[2] &= 0x7F;  // QR clear
  EXPECT_FALSE(parse_message(query));
}

TEST(DnsWire, RejectsPointersThatDoNotPointBackwards) {
  Bytes self = PacketBuilder().bytes();
  self[5] = 1;  // one question whose name is a pointer to itself
  for (std::uint8_t b : {0xC0, 12, 0, 1, 0, 1}) self.push_back(b);
  EXPECT_FALSE(parse_message(self));

  Bytes forward = PacketBuilder().bytes();
  forward[5] = 1;  // a pointer to the octet after it
  for (std::uint8_t b : {0xC0, 14, 0, 0, 1, 0, 1}) forward.push_back(b);
  EXPECT_FALSE(parse_message(forward));
}

TEST(DnsWire, RejectsANameLongerThan255Octets) {
  std::string name;
  for (int i = 0; i < 5; ++i) name.append(60, 'a').append(".");
  name += "test";  // 5 * 61 + 5 + 1 = 311 octets on the wire
  EXPECT_FALSE(parse_message(PacketBuilder().question(name, 1).bytes()));
  EXPECT_TRUE(parse_message(PacketBuilder().question(name.substr(100), 1).bytes()));
}

TEST(DnsWire, RejectsObsoleteLabelTypes) {
  Bytes bytes = PacketBuilder().bytes();
  bytes[5] = 1;
  for (int b : {0x41, int('a'), 0, 0, 1, 0, 1}) bytes.push_back(static_cast<std::uint8_t>(b));
  EXPECT_FALSE(parse_message(bytes));
}

TEST(DnsWire, RejectsRdataOfTheWrongSize) {
  EXPECT_FALSE(parse_message(
      PacketBuilder().question("a.test", 1).answer("a.test", 1, 60, {192, 0, 2}).bytes()));
  EXPECT_FALSE(parse_message(
      PacketBuilder().question("a.test", 28).answer("a.test", 28, 60, {1, 2, 3, 4}).bytes()));
  // An MX whose exchange ends before its RDATA does.
  Bytes mx = testing::rdata_mx(10, "mx.test");
  mx.push_back(0);
  EXPECT_FALSE(
      parse_message(PacketBuilder().question("a.test", 15).answer("a.test", 15, 60, mx).bytes()));
  // A TXT string running past the RDATA.
  EXPECT_FALSE(parse_message(
      PacketBuilder().question("a.test", 16).answer("a.test", 16, 60, {5, 'a', 'b'}).bytes()));
}

TEST(DnsWire, RejectsRdataLongerThanTheMessage) {
  Bytes bytes = PacketBuilder()
                    .question("a.test", 1)
                    .answer("a.test", 1, 60, testing::rdata_a(1, 2, 3, 4))
                    .bytes();
  bytes[bytes.size() - 5] = 5;  // RDLENGTH 5, but 4 octets follow
  EXPECT_FALSE(parse_message(bytes));
}

}  // namespace
}  // namespace mailroom::dns
