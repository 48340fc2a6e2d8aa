#include "dns/name.hpp"

#include <gtest/gtest.h>

namespace mailroom::dns {
namespace {

TEST(DnsName, OneSpellingPerName) {
  EXPECT_EQ(normalize_name("Example.TEST."), "example.test");
  EXPECT_EQ(normalize_name("_dmarc.example.test"), "_dmarc.example.test");
  EXPECT_EQ(normalize_name("localhost"), "localhost");
}

TEST(DnsName, RefusesNamesItWillNotSend) {
  for (std::string_view bad :
       {"", ".", "a..test", ".test", "a b.test", "a\\.b.test", "caf\xc3\xa9.test", "tab\t.test"})
    EXPECT_FALSE(normalize_name(bad)) << bad;
  std::string label63(63, 'a');
  label63 += ".test";  // appended, not operator+: GCC 12 -O2 warns wrongly on the temporary
  EXPECT_TRUE(normalize_name(label63));
  std::string label64(64, 'a');
  label64 += ".test";
  EXPECT_FALSE(normalize_name(label64));
  std::string long_name;
  while (long_name.size() < 250) long_name += "abcdefghi.";
  long_name += "test";  // 254 characters
  EXPECT_FALSE(normalize_name(long_name));
}

TEST(DnsName, ReverseNames) {
  EXPECT_EQ(reverse_name(asio::ip::make_address("192.0.2.10")), "10.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name(asio::ip::make_address("2001:db8::1")),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  EXPECT_EQ(reverse_name(asio::ip::make_address("::ffff:192.0.2.10")), "10.2.0.192.in-addr.arpa");
}

}  // namespace
}  // namespace mailroom::dns
