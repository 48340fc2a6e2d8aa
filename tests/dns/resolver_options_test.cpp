#include "dns/resolver_options.hpp"

#include <gtest/gtest.h>

namespace mailroom::dns {
namespace {

TEST(DnsServerAddress, ReadsTheFormsTheConfigAllows) {
  EXPECT_EQ(parse_server_address("127.0.0.1:5353"), (ServerAddress{"127.0.0.1", 5353}));
  EXPECT_EQ(parse_server_address("192.0.2.53"), (ServerAddress{"192.0.2.53", 53}));
  EXPECT_EQ(parse_server_address("[::1]:5353"), (ServerAddress{"::1", 5353}));
  EXPECT_EQ(parse_server_address("[::1]"), (ServerAddress{"::1", 53}));
  EXPECT_EQ(parse_server_address("2001:db8::53"), (ServerAddress{"2001:db8::53", 53}));
  for (std::string_view bad : {"", "dns.example.test:53", "*:53", "127.0.0.1:0", "127.0.0.1:65536",
                               "127.0.0.1:", "[127.0.0.1]:53", "[::1]x", "[::1"})
    EXPECT_FALSE(parse_server_address(bad)) << bad;
}

TEST(DnsServerAddress, TheDnsSectionOfTheConfigCarriesOver) {
  config::DnsConfig dns;
  dns.servers = {"127.0.0.1:5353"};
  dns.timeout_ms = 500;
  auto options = resolver_options(dns);
  EXPECT_EQ(options.servers, dns.servers);
  EXPECT_EQ(options.timeout_ms, 500u);
}

}  // namespace
}  // namespace mailroom::dns
