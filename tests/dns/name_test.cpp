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
  EXPECT_TRUE(normalize_name(std::string(63, 'a') + ".test"));
  EXPECT_FALSE(normalize_name(std::string(64, 'a') + ".test"));
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
