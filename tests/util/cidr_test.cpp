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
