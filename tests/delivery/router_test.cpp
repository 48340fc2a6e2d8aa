// The router: local mailboxes to the local transport, forwards and foreign domains to SMTP (MX or
// relayhost), address literals as their own next hop, and route failures with their status.
#include "delivery/router.hpp"

#include <gtest/gtest.h>

#include "queue/queue_test_support.hpp"

namespace mailroom::delivery {
namespace {

std::shared_ptr<testing::FakeDirectory> directory() {
  auto d = std::make_shared<testing::FakeDirectory>();
  d->add_user("kate");
  d->add_user("chris");
  d->add_alias("sales", {"kate@example.test", "chris@example.test", "Boss@Partner.example"});
  return d;
}

TEST(Router, LocalMailboxGoesToMaildirWithItsPlusFolder) {
  Router router({}, directory());
  auto r = router.route("kate+lists@example.test");
  ASSERT_TRUE(r.failure.empty());
  ASSERT_EQ(r.destinations.size(), 1u);
  EXPECT_EQ(r.destinations[0].transport, Transport::Maildir);
  EXPECT_EQ(r.destinations[0].address, "kate@example.test");
  EXPECT_EQ(r.destinations[0].mailbox.folder, "lists");
  EXPECT_EQ(r.destinations[0].nexthop, "");
}

TEST(Router, AliasSplitsIntoMailboxesAndForwardsByTransport) {
  Router router({}, directory());
  auto r = router.route("sales@example.test");
  ASSERT_EQ(r.destinations.size(), 3u);
  EXPECT_EQ(r.destinations[0].transport, Transport::Maildir);
  EXPECT_EQ(r.destinations[1].transport, Transport::Maildir);
  EXPECT_EQ(r.destinations[2].transport, Transport::Smtp);
  EXPECT_EQ(r.destinations[2].address, "Boss@Partner.example");  // local part keeps its case
  EXPECT_EQ(r.destinations[2].nexthop, "partner.example");
}

TEST(Router, ForeignDomainGoesByMxOrToTheRelayhost) {
  Router mx({}, directory());
  auto r = mx.route("someone@Fabrikam.COM.");
  ASSERT_EQ(r.destinations.size(), 1u);
  EXPECT_EQ(r.destinations[0].transport, Transport::Smtp);
  EXPECT_EQ(r.destinations[0].nexthop, "fabrikam.com");

  Router relay({Transport::Maildir, "", "[smtp.isp.example]:587"}, directory());
  EXPECT_EQ(relay.route("someone@fabrikam.com").destinations.at(0).nexthop,
            "[smtp.isp.example]:587");
  // The relayhost takes local mail nowhere: mailboxes stay local.
  EXPECT_EQ(relay.route("kate@example.test").destinations.at(0).transport, Transport::Maildir);
}

TEST(Router, AddressLiteralIsItsOwnNexthop) {
  Router router({}, directory());
  EXPECT_EQ(router.route("a@[192.0.2.7]").destinations.at(0).nexthop, "[192.0.2.7]");
  EXPECT_EQ(smtp_nexthop_for("a@[IPv6:2001:db8::1]"), "[IPv6:2001:db8::1]");
}

TEST(Router, LmtpIsTheLocalTransportWhenConfigured) {
  Router router({Transport::Lmtp, "unix:/run/dovecot/lmtp", ""}, directory());
  auto r = router.route("chris@example.test");
  ASSERT_EQ(r.destinations.size(), 1u);
  EXPECT_EQ(r.destinations[0].transport, Transport::Lmtp);
  EXPECT_EQ(r.destinations[0].nexthop, "unix:/run/dovecot/lmtp");
  EXPECT_EQ(r.destinations[0].mailbox.user, "chris");
}

TEST(Router, UnknownLocalUserFailsWith511) {
  Router router({}, directory());
  auto r = router.route("nobody@example.test");
  EXPECT_TRUE(r.destinations.empty());
  EXPECT_EQ(r.failure, "5.1.1 <nobody@example.test>: user unknown");
}

}  // namespace
}  // namespace mailroom::delivery
