// The pure parts of outbound delivery: next-hop notation, TLS level per domain, and how a server's
// reply becomes a disposition and the reason the sender reads.
#include "delivery/outbound_policy.hpp"

#include <gtest/gtest.h>

namespace mailroom::delivery {
namespace {

TEST(OutboundPolicy, NexthopNotation) {
  auto mx = parse_nexthop("Fabrikam.COM", 25);
  ASSERT_TRUE(mx);
  EXPECT_EQ(mx->host, "fabrikam.com");
  EXPECT_TRUE(mx->mx_lookup);
  EXPECT_EQ(mx->port, 25);

  auto relay = parse_nexthop("[smtp.isp.example]:587", 25);
  ASSERT_TRUE(relay);
  EXPECT_EQ(relay->host, "smtp.isp.example");
  EXPECT_FALSE(relay->mx_lookup);
  EXPECT_EQ(relay->port, 587);
  EXPECT_FALSE(relay->literal);

  auto mx_port = parse_nexthop("relay.example:2525", 25);
  ASSERT_TRUE(mx_port);
  EXPECT_TRUE(mx_port->mx_lookup);
  EXPECT_EQ(mx_port->port, 2525);

  auto v4 = parse_nexthop("[192.0.2.7]", 2600);
  ASSERT_TRUE(v4 && v4->literal);
  EXPECT_EQ(v4->literal->to_string(), "192.0.2.7");
  EXPECT_EQ(v4->port, 2600);

  auto v6 = parse_nexthop("[IPv6:2001:db8::1]", 25);
  ASSERT_TRUE(v6 && v6->literal);
  EXPECT_TRUE(v6->literal->is_v6());

  for (const char* bad : {"", "[host", "[h]x", "host:0", "host:99999", "bad_domain!", "[h]:"})
    EXPECT_FALSE(parse_nexthop(bad, 25)) << bad;
}

TEST(OutboundPolicy, TlsLevelByMostSpecificDomain) {
  config::DeliveryConfig cfg;
  cfg.tls = config::OutboundTls::Opportunistic;
  cfg.tls_policy = {{".example.org", config::OutboundTls::Required},
                    {"mx.example.org", config::OutboundTls::Verify},
                    {".legacy.example.org", config::OutboundTls::None}};
  EXPECT_EQ(tls_level_for(cfg, "mx.example.org"), config::OutboundTls::Verify);
  EXPECT_EQ(tls_level_for(cfg, "a.example.org"), config::OutboundTls::Required);
  EXPECT_EQ(tls_level_for(cfg, "old.legacy.example.org"), config::OutboundTls::None);
  EXPECT_EQ(tls_level_for(cfg, "example.org"), config::OutboundTls::Opportunistic);
  EXPECT_EQ(tls_level_for(cfg, "Other.Example"), config::OutboundTls::Opportunistic);
}

smtp::RecipientResult rcpt_result(int code, std::string enhanced, std::string text,
                                  smtp::ClientState stage = smtp::ClientState::Rcpt) {
  smtp::RecipientResult r;
  r.message = 0;
  r.recipient = 0;
  r.stage = stage;
  r.reply = smtp::make_reply(code, enhanced, text);
  return r;
}

TEST(OutboundPolicy, ReplyClassDecidesAndTheReasonQuotesTheServer) {
  auto failed = result_from_reply(rcpt_result(550, "5.1.1", "<x@fabrikam.test>: no such user"),
                                  "mx.fabrikam.test[192.0.2.7]:25");
  EXPECT_EQ(failed.disposition, Disposition::Failed);
  EXPECT_EQ(failed.reason,
            "5.1.1 host mx.fabrikam.test[192.0.2.7]:25 said: 550 5.1.1 <x@fabrikam.test>: no "
            "such user (in reply to RCPT TO command)");
  EXPECT_EQ(failed.remote_mta, "mx.fabrikam.test[192.0.2.7]:25");
  EXPECT_EQ(failed.diagnostic, "550 5.1.1 <x@fabrikam.test>: no such user");

  auto deferred =
      result_from_reply(rcpt_result(451, "", "greylisted, try later"), "mx[1.2.3.4]:25");
  EXPECT_EQ(deferred.disposition, Disposition::Deferred);
  EXPECT_EQ(deferred.reason.substr(0, 6), "4.0.0 ");  // no enhanced code given: class default

  auto delivered = result_from_reply(
      rcpt_result(250, "2.0.0", "Ok: queued as 4Xy", smtp::ClientState::EndOfData), "mx:25");
  EXPECT_EQ(delivered.disposition, Disposition::Delivered);
  EXPECT_NE(delivered.reason.find("(in reply to end of DATA command)"), std::string::npos);

  // An enhanced code of the wrong class is not believed.
  auto odd = result_from_reply(rcpt_result(550, "2.1.5", "odd"), "mx:25");
  EXPECT_EQ(odd.reason.substr(0, 6), "5.0.0 ");
}

TEST(OutboundPolicy, LocalFailureNamesTheHostWithoutPretendingItSpoke) {
  smtp::SessionFailed f{
      smtp::ClientState::Connecting, smtp::FailureCause::ConnectionLost,
      smtp::make_reply(421, "4.4.1", "connect to mx[192.0.2.7]:25: Connection refused"), false};
  auto r = result_from_session(f, "mx[192.0.2.7]:25");
  EXPECT_EQ(r.disposition, Disposition::Deferred);
  EXPECT_EQ(r.reason, "4.4.1 connect to mx[192.0.2.7]:25: Connection refused");
  EXPECT_TRUE(r.remote_mta.empty());
}

// Found by test_remote_misbehaving.py: an only MX greeting with 554 bounced the message.
TEST(OutboundPolicy, RefusalAtTheGreetingDefersLikePostfix) {
  smtp::SessionFailed f{smtp::ClientState::Banner, smtp::FailureCause::ServerReply,
                        smtp::make_reply(554, "5.7.1", "mx1 does not want you"), true};
  auto r = result_from_session(f, "mx1[192.0.2.7]:25");
  EXPECT_EQ(r.disposition, Disposition::Deferred);
  EXPECT_EQ(r.reason,
            "4.7.1 host mx1[192.0.2.7]:25 refused to talk to me: 554 5.7.1 mx1 does not want you");
  EXPECT_EQ(r.remote_mta, "mx1[192.0.2.7]:25");
  EXPECT_EQ(r.diagnostic, "554 5.7.1 mx1 does not want you");

  // Without an enhanced code: 4.0.0. A 5xx later in the session (to MAIL FROM) still fails.
  f.reply = smtp::make_reply(554, "", "go away");
  EXPECT_EQ(result_from_session(f, "mx1:25").reason.substr(0, 6), "4.0.0 ");
  f.stage = smtp::ClientState::Mail;
  EXPECT_EQ(result_from_session(f, "mx1:25").disposition, Disposition::Failed);
}

// Found by test_remote_interop_postfix.py: a smarthost refusing our credentials (535) bounced
// every message relayed through it.
TEST(OutboundPolicy, RefusedCredentialsDeferLikePostfix) {
  smtp::SessionFailed f{smtp::ClientState::Auth, smtp::FailureCause::ServerReply,
                        smtp::make_reply(535, "5.7.8", "Error: authentication failed"), true};
  auto r = result_from_session(f, "relay[192.0.2.9]:587");
  EXPECT_EQ(r.disposition, Disposition::Deferred);
  EXPECT_EQ(r.reason,
            "4.7.8 SASL authentication failed; host relay[192.0.2.9]:587 said: 535 5.7.8 Error: "
            "authentication failed");
  EXPECT_EQ(r.diagnostic, "535 5.7.8 Error: authentication failed");
  f.reply = smtp::make_reply(454, "4.7.0", "Temporary authentication failure");
  EXPECT_EQ(result_from_session(f, "relay:587").disposition, Disposition::Deferred);
}

// Found by test_remote_misbehaving.py: a cached connection the server had closed while idle cost
// the next message a deferral (a retry 5 minutes later with the default backoff).
TEST(OutboundPolicy, StaleCachedConnectionIsOneThatFailedBeforeAnyVerdict) {
  using smtp::ClientState;
  using smtp::FailureCause;
  auto lost = [](ClientState stage, FailureCause cause, int code = 421) {
    return smtp::SessionFailed{stage, cause, smtp::make_reply(code, "4.4.2", "x"), false};
  };
  EXPECT_TRUE(stale_connection_failure(lost(ClientState::Mail, FailureCause::ConnectionLost)));
  EXPECT_TRUE(stale_connection_failure(lost(ClientState::Rset, FailureCause::ConnectionLost)));
  EXPECT_TRUE(stale_connection_failure(lost(ClientState::Mail, FailureCause::ServerReply)));
  // Later stages: the server may have taken recipients or the body; a timeout costs time again.
  EXPECT_FALSE(stale_connection_failure(lost(ClientState::Rcpt, FailureCause::ConnectionLost)));
  EXPECT_FALSE(
      stale_connection_failure(lost(ClientState::EndOfData, FailureCause::ConnectionLost)));
  EXPECT_FALSE(stale_connection_failure(lost(ClientState::Mail, FailureCause::Timeout)));
  EXPECT_FALSE(stale_connection_failure(lost(ClientState::Mail, FailureCause::ServerReply, 451)));
}

}  // namespace
}  // namespace mailroom::delivery
