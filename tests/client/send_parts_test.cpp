// The pure parts of `mailroom send` and the shell: targets, --quit-after names, percentiles,
// and what a hostile reply line looks like on the screen.
#include <gtest/gtest.h>

#include "client/host_target.hpp"
#include "client/reply_meaning.hpp"
#include "client/send.hpp"

namespace mailroom::client {
namespace {

TEST(HostTarget, Forms) {
  auto a = parse_host_port("mx.example.test");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "mx.example.test");
  EXPECT_FALSE(a->port);
  EXPECT_FALSE(a->literal);
  auto b = parse_host_port("127.0.0.1:2525");
  ASSERT_TRUE(b);
  EXPECT_EQ(*b->port, 2525);
  EXPECT_TRUE(b->literal);
  auto c = parse_host_port("[::1]:25");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(*c->port, 25);
  auto d = parse_host_port("::1");  // bare IPv6: an address without a port
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->literal);
  EXPECT_FALSE(d->port);
  for (const char* bad : {"", "host:0", "host:65536", "host:x", "[::1", "[::1]x", ":25"})
    EXPECT_FALSE(parse_host_port(bad)) << bad;
}

TEST(QuitAfter, SwaksNames) {
  EXPECT_EQ(parse_quit_after("BANNER"), QuitAfter::Connect);
  EXPECT_EQ(parse_quit_after("helo"), QuitAfter::Ehlo);
  EXPECT_EQ(parse_quit_after("STARTTLS"), QuitAfter::Tls);
  EXPECT_EQ(parse_quit_after("from"), QuitAfter::Mail);
  EXPECT_EQ(parse_quit_after("TO"), QuitAfter::Rcpt);
  EXPECT_EQ(parse_quit_after("dot"), QuitAfter::Data);
  EXPECT_FALSE(parse_quit_after("xclient"));
}

TEST(Percentile, NearestRank) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  EXPECT_EQ(percentile(v, 50), 50);
  EXPECT_EQ(percentile(v, 99), 99);
  EXPECT_EQ(percentile(v, 100), 100);
  EXPECT_EQ(percentile({7}, 50), 7);
  EXPECT_EQ(percentile({}, 50), 0);
}

TEST(Printable, EscapesWhatCouldHarmATerminal) {
  EXPECT_EQ(printable("250 ok"), "250 ok");
  EXPECT_EQ(printable("220 Grüße"), "220 Grüße");
  EXPECT_EQ(printable("220 \xff\xfe"), "220 \\xFF\\xFE");
  EXPECT_EQ(printable("220 \x1b[2J\x07"), "220 \\x1B[2J\\x07");
  EXPECT_EQ(printable("a\tb\x7f"), "a\tb\\x7F");
  EXPECT_EQ(printable("\xc3\x28"), "\\xC3(");               // a lead octet without its continuation
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xED\\xA0\\x80");  // a UTF-16 surrogate
  EXPECT_EQ(printable("\xe0\x80\xaf"), "\\xE0\\x80\\xAF");  // an overlong form
}

}  // namespace
}  // namespace mailroom::client
