#include "server/recipient_policy.hpp"

#include <gtest/gtest.h>

#include <set>

#include "smtp/mail_args.hpp"

using namespace mailroom;

namespace {

class FakeDirectory : public directory::Directory {
 public:
  bool is_local_domain(std::string_view d) const override { return d == "example.test"; }
  std::vector<std::string> local_domains() const override { return {"example.test"}; }
  directory::Resolution resolve(std::string_view address) const override {
    directory::Resolution r;
    std::string a(address);
    if (a == "kate@example.test" || a == "postmaster@example.test") {
      r.status = directory::Resolution::Status::Ok;
      r.mailboxes.push_back({"kate", "example.test", ""});
    } else if (a == "loop@example.test") {
      r.status = directory::Resolution::Status::AliasError;
      r.error = "loop";
    }
    return r;
  }
  bool verify_password(std::string_view, std::string_view) const override { return false; }
};

smtp::Address rcpt(const std::string& text) {
  auto parsed = smtp::parse_rcpt_args("TO:" + text, true);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.value ? parsed.value->recipient : smtp::Address{};
}

config::ListenerConfig listener(config::RelayMode relay, std::vector<std::string> ranges = {}) {
  config::ListenerConfig l;
  l.relay = relay;
  l.relay_ranges = std::move(ranges);
  return l;
}

}  // namespace

TEST(RecipientPolicy, LocalRecipients) {
  FakeDirectory dir;
  auto l = listener(config::RelayMode::None);
  server::RecipientPolicy p(l, dir);
  server::ClientIdentity anon{"192.0.2.1", false};
  EXPECT_EQ(p.check(rcpt("<kate@example.test>"), anon).reply.code, 250);
  EXPECT_EQ(p.check(rcpt("<KATE@EXAMPLE.TEST.>"), anon).reply.code, 550);  // resolve is exact here
  EXPECT_EQ(p.check(rcpt("<Postmaster>"), anon).reply.code, 250);
  // The envelope gets a qualified address (Postfix appends @$myorigin the same way).
  EXPECT_EQ(p.check(rcpt("<Postmaster>"), anon).address, "postmaster@example.test");
  EXPECT_EQ(p.check(rcpt("<kate@example.test>"), anon).address, "kate@example.test");
  auto unknown = p.check(rcpt("<nobody@example.test>"), anon);
  EXPECT_EQ(unknown.reply.wire(), "550 5.1.1 User unknown\r\n");
  EXPECT_EQ(p.check(rcpt("<loop@example.test>"), anon).reply.enhanced, "5.4.6");
}

TEST(RecipientPolicy, RelayTricksNeverRelay) {
  FakeDirectory dir;
  auto l = listener(config::RelayMode::None);
  server::RecipientPolicy p(l, dir);
  server::ClientIdentity anon{"192.0.2.1", false};
  for (const char* trick :
       {"<victim%other.org@example.test>", "<other.org!victim@example.test>",
        "<\"victim@other.org\"@example.test>", "<@example.test:victim@other.org>",
        "<victim@other.org>", "<victim@[127.0.0.1]>", "<victim@example.test.other.org>",
        "<victim@xn--exmple-cua.test>"}) {
    auto d = p.check(rcpt(trick), anon);
    EXPECT_FALSE(d.accepted) << trick;
    EXPECT_FALSE(d.relayed) << trick;
    EXPECT_GE(d.reply.code, 550) << trick;
  }
}

// RFC 5321 4.1.3, 4.5.1: an address literal of this server's own address names this host, so
// postmaster@[our address] is the local postmaster (it was refused as relay). Other local parts
// under a literal name no mailbox here: 550 5.1.1, still never relayed.
TEST(RecipientPolicy, OwnAddressLiteralIsLocal) {
  FakeDirectory dir;
  auto l = listener(config::RelayMode::None);
  server::RecipientPolicy p(l, dir);
  server::ClientIdentity anon{"192.0.2.1", false};
  const std::string ours = "198.51.100.7";
  for (const char* own : {"<postmaster@[198.51.100.7]>", "<PostMaster@[198.51.100.7]>",
                          "<postmaster@[IPv6:::ffff:198.51.100.7]>"}) {
    auto d = p.check(rcpt(own), anon, ours);
    EXPECT_TRUE(d.accepted) << own;
    EXPECT_FALSE(d.relayed) << own;
    EXPECT_EQ(d.address, "postmaster@example.test") << own;
  }
  for (const char* unknown : {"<kate@[198.51.100.7]>", "<\"victim@other.org\"@[198.51.100.7]>",
                              "<postmaster%other.org@[198.51.100.7]>"}) {
    auto d = p.check(rcpt(unknown), anon, ours);
    EXPECT_EQ(d.reply.wire(), "550 5.1.1 User unknown\r\n") << unknown;
    EXPECT_FALSE(d.relayed) << unknown;
  }
  EXPECT_EQ(p.check(rcpt("<postmaster@[198.51.100.8]>"), anon, ours).reply.wire(),
            "550 5.7.1 Unable to relay\r\n");
  server::ClientIdentity v6{"2001:db8::1", false};
  EXPECT_TRUE(p.check(rcpt("<postmaster@[IPv6:2001:DB8::25]>"), v6, "2001:db8::25").accepted);
  EXPECT_FALSE(p.check(rcpt("<postmaster@[IPv6:2001:db8::26]>"), v6, "2001:db8::25").accepted);
  EXPECT_FALSE(p.check(rcpt("<postmaster@[198.51.100.7]>"), anon).accepted);  // ours unknown
}

TEST(RecipientPolicy, RelayRules) {
  FakeDirectory dir;
  auto auth = listener(config::RelayMode::Authenticated);
  server::RecipientPolicy by_auth(auth, dir);
  EXPECT_EQ(by_auth.check(rcpt("<v@other.org>"), {"192.0.2.1", false}).reply.wire(),
            "550 5.7.1 Unable to relay\r\n");
  auto ok = by_auth.check(rcpt("<v@other.org>"), {"192.0.2.1", true});
  EXPECT_TRUE(ok.accepted);
  EXPECT_TRUE(ok.relayed);

  auto ranges = listener(config::RelayMode::Ranges, {"10.1.0.0/16"});
  server::RecipientPolicy by_range(ranges, dir);
  EXPECT_TRUE(by_range.check(rcpt("<v@other.org>"), {"10.1.2.3", false}).accepted);
  EXPECT_FALSE(by_range.check(rcpt("<v@other.org>"), {"10.2.0.1", false}).accepted);
  EXPECT_TRUE(by_range.check(rcpt("<v@other.org>"), {"::ffff:10.1.9.9", false}).accepted);
}
