#include "util/cidr.hpp"

#include <gtest/gtest.h>

using mailroom::util::Cidr;

TEST(Cidr, Ipv4Ranges) {
  auto r = Cidr::parse("192.0.2.0/24");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->contains("192.0.2.77"));
  EXPECT_FALSE(r->contains("192.0.3.1"));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains("203.0.113.9"));
  EXPECT_TRUE(Cidr::parse("127.0.0.1")->contains("127.0.0.1"));
  EXPECT_FALSE(Cidr::parse("127.0.0.1")->contains("127.0.0.2"));
}

TEST(Cidr, MappedIpv6MatchesIpv4Rules) {
  EXPECT_TRUE(Cidr::parse("127.0.0.0/8")->contains("::ffff:127.0.0.5"));
  EXPECT_FALSE(Cidr::parse("::/0")->contains("127.0.0.1"));
  EXPECT_TRUE(Cidr::parse("::1/128")->contains("::1"));
}

TEST(Cidr, RejectsGarbage) {
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::parse("10.0.0/8"));
  EXPECT_FALSE(Cidr::parse("::/129"));
  EXPECT_FALSE(Cidr::parse("1.2.3.4/"));
  EXPECT_FALSE(Cidr::parse("host.example"));
}

// Issue 11: "192.168.1.1/24" was taken silently; config names the network it probably meant.
TEST(Cidr, HostBitsAndNetwork) {
  auto r = Cidr::parse("192.168.1.1/24");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has_host_bits());
  EXPECT_EQ(r->network().to_string(), "192.168.1.0/24");
  EXPECT_FALSE(Cidr::parse("192.168.1.0/24")->has_host_bits());
  EXPECT_FALSE(Cidr::parse("192.168.1.1")->has_host_bits());
  EXPECT_FALSE(Cidr::parse("0.0.0.0/0")->has_host_bits());
  EXPECT_TRUE(Cidr::parse("10.1.2.3/0")->has_host_bits());
  EXPECT_EQ(Cidr::parse("172.16.5.4/12")->network().to_string(), "172.16.0.0/12");
  EXPECT_EQ(Cidr::parse("2001:db8::1/64")->network().to_string(), "2001:db8::/64");
  EXPECT_FALSE(Cidr::parse("2001:db8::/64")->has_host_bits());
  EXPECT_TRUE(Cidr::parse("::ffff:10.0.0.1/104")->has_host_bits());
}
