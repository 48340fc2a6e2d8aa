#include "bounce/dsn.hpp"

#include <gtest/gtest.h>

namespace mailroom::bounce {
namespace {

using spool::EnvelopeRecipient;

DsnRequest failed_request(const std::string& ret = "") {
  DsnRequest q;
  q.original.id = "1k0y2z92s2e0000e2zqmg";
  q.original.sender = "chris@contoso.com";
  q.original.ret = ret;
  q.original.envid = "env-42";
  q.original.arrival_unix = 1'800'000'000;
  q.original.body_type = "7BIT";
  DsnRecipient r;
  r.recipient = {"kate@example.test", "rfc822;Kate@Example.test", smtp::kNotifyDefault};
  r.reason = "5.1.1 <kate@example.test>: user unknown";
  r.last_attempt_unix = 1'800'000'100;
  q.recipients.push_back(r);
  q.original_headers = "Subject: hi\r\n";
  q.original_message = "Subject: hi\r\n\r\nsecret body\r\n";
  q.original_size = q.original_message.size();
  q.reporting_mta = "mx.example.test";
  q.dsn_id = "1k0y2z93me20003e2zqmg";
  q.now_unix = 1'800'000'200;
  return q;
}

TEST(Dsn, WhoGetsANotification) {
  EnvelopeRecipient plain{"k@x", "", smtp::kNotifyDefault};
  EnvelopeRecipient never{"k@x", "", smtp::kNotifyNever};
  EnvelopeRecipient success{"k@x", "", smtp::kNotifySuccess};
  EnvelopeRecipient delay_only{"k@x", "", smtp::kNotifyDelay};
  EXPECT_TRUE(wants_dsn("c@y", plain, DsnAction::Failed));
  EXPECT_FALSE(wants_dsn("c@y", plain, DsnAction::Delivered));
  EXPECT_FALSE(wants_dsn("", plain, DsnAction::Failed));  // a bounce is never bounced
  EXPECT_FALSE(wants_dsn("c@y", never, DsnAction::Failed));
  EXPECT_TRUE(wants_dsn("c@y", success, DsnAction::Delivered));
  EXPECT_FALSE(wants_dsn("c@y", success, DsnAction::Failed));
  EXPECT_FALSE(wants_dsn("c@y", delay_only, DsnAction::Failed));
  EXPECT_TRUE(wants_dsn("c@y", delay_only, DsnAction::Delayed));
  EXPECT_TRUE(wants_dsn("c@y", plain, DsnAction::Delayed));  // no NOTIFY: failure and delay
  EXPECT_FALSE(wants_dsn("c@y", success, DsnAction::Delayed));
  EXPECT_TRUE(wants_dsn("c@y", success, DsnAction::Relayed));
  EXPECT_FALSE(wants_dsn("c@y", plain, DsnAction::Relayed));
}

TEST(Dsn, RemoteReplyBecomesRemoteMtaAndSmtpDiagnostic) {
  auto q = failed_request();
  q.recipients[0].reason =
      "5.1.1 host mx.fabrikam.test[192.0.2.7]:25 said: 550 5.1.1 <kate@fabrikam.test>: no such "
      "user (in reply to RCPT TO command)";
  q.recipients[0].remote_mta = "mx.fabrikam.test[192.0.2.7]:25";
  q.recipients[0].diagnostic = "550 5.1.1 <kate@fabrikam.test>: no such user";
  auto text = build_dsn(q);
  EXPECT_NE(text.find("Remote-MTA: dns; mx.fabrikam.test\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Diagnostic-Code: smtp; 550 5.1.1 <kate@fabrikam.test>: no such user\r\n"),
            std::string::npos);
  // The person reading it is told which server said what.
  EXPECT_NE(text.find("host mx.fabrikam.test[192.0.2.7]:25 said: 550"), std::string::npos);
}

TEST(Dsn, DelayWarningSaysItIsStillBeingRetriedAndUntilWhen) {
  auto q = failed_request();
  q.action = DsnAction::Delayed;
  q.recipients[0].action = DsnAction::Delayed;
  q.recipients[0].reason = "4.4.1 connect to mx.fabrikam.test[192.0.2.7]:25: Connection refused";
  q.will_retry_until_unix = 1'800'432'000;
  auto text = build_dsn(q);
  for (const char* expected :
       {"Subject: Delayed Mail (still being retried)\r\n", "Action: delayed\r\n",
        "Status: 4.4.1\r\n", "Will-Retry-Until: ", "you do not need to send it again",
        "Content-Type: text/rfc822-headers\r\n"})
    EXPECT_NE(text.find(expected), std::string::npos) << expected;
  EXPECT_EQ(text.find("secret body"), std::string::npos);  // RET covers failures only
}

TEST(Dsn, RelayedRecipientIsReportedAsRelayed) {
  auto q = failed_request();
  q.action = DsnAction::Delivered;
  q.recipients[0].action = DsnAction::Relayed;
  q.recipients[0].reason = "2.0.0 host mx.fabrikam.test[192.0.2.7]:25 said: 250 2.0.0 Ok";
  auto text = build_dsn(q);
  EXPECT_NE(text.find("Action: relayed\r\n"), std::string::npos);
  EXPECT_NE(text.find("Status: 2.0.0\r\n"), std::string::npos);
  EXPECT_NE(text.find("Subject: Successful Mail Delivery Report\r\n"), std::string::npos);
}

TEST(Dsn, FailureReportIsAMultipartReportWithPerRecipientFields) {
  auto text = build_dsn(failed_request());
  for (const char* expected :
       {"Received: by mx.example.test (mailroom) id 1k0y2z93me20003e2zqmg;\r\n\t",
        "Content-Type: multipart/report; report-type=delivery-status;",
        "Subject: Undelivered Mail Returned to Sender\r\n", "To: <chris@contoso.com>\r\n",
        "Message-ID: <1k0y2z93me20003e2zqmg@mx.example.test>\r\n",
        "Content-Type: message/delivery-status\r\n", "Reporting-MTA: dns; mx.example.test\r\n",
        "Original-Envelope-Id: env-42\r\n", "Original-Recipient: rfc822; Kate@Example.test\r\n",
        "Final-Recipient: rfc822; kate@example.test\r\n", "Action: failed\r\n", "Status: 5.1.1\r\n",
        "Content-Type: message/rfc822\r\n", "secret body"})
    EXPECT_NE(text.find(expected), std::string::npos) << expected;
  EXPECT_EQ(text.find('\n'), text.find("\r\n") + 1);  // CRLF throughout, no bare LF first
}

TEST(Dsn, RetHdrsReturnsOnlyTheHeaders) {
  auto text = build_dsn(failed_request("HDRS"));
  EXPECT_NE(text.find("Content-Type: text/rfc822-headers\r\n"), std::string::npos);
  EXPECT_EQ(text.find("secret body"), std::string::npos);
}

TEST(Dsn, OversizedOriginalIsReturnedAsHeadersOnly) {
  auto q = failed_request();
  q.original_message = "Subject: hi\r\n\r\n" + std::string(kFullReturnLimitBytes, 'x') + "\r\n";
  q.original_size = q.original_message.size();
  auto text = build_dsn(q);
  EXPECT_NE(text.find("text/rfc822-headers"), std::string::npos);
  EXPECT_LT(text.size(), kFullReturnLimitBytes);
}

// RFC 2046 5.2.1: message/rfc822 may only be 7bit or 8bit, and the DSN goes out without
// BODY=BINARYMIME: a binary original comes back as its headers, even with RET=FULL.
TEST(Dsn, BinaryOriginalIsReturnedAsHeadersOnlyEvenWithRetFull) {
  auto q = failed_request("FULL");
  q.original.body_type = "BINARYMIME";
  q.original_message = std::string("Subject: hi\r\n\r\nbin\0ary\n\r", 22);
  q.original_size = q.original_message.size();
  EXPECT_FALSE(returns_full_message(q.original, DsnAction::Failed, q.original_size));
  auto text = build_dsn(q);
  EXPECT_NE(text.find("Content-Type: text/rfc822-headers\r\n"), std::string::npos);
  EXPECT_EQ(text.find("message/rfc822"), std::string::npos);
  EXPECT_EQ(text.find("bin"), std::string::npos);
  EXPECT_EQ(text.find('\0'), std::string::npos);
}

TEST(Dsn, EnvelopeUsesTheNullSenderAndNeverAsksForADsnOfTheDsn) {
  auto e = dsn_envelope(failed_request());
  EXPECT_EQ(e.id, "1k0y2z93me20003e2zqmg");
  EXPECT_EQ(e.sender, "");
  ASSERT_EQ(e.recipients.size(), 1u);
  EXPECT_EQ(e.recipients[0].address, "chris@contoso.com");
  EXPECT_EQ(e.recipients[0].notify, static_cast<unsigned>(smtp::kNotifyNever));
}

TEST(Dsn, ReasonWithoutStatusGetsAGenericOne) {
  auto q = failed_request();
  q.recipients[0].reason = "something odd";
  EXPECT_NE(build_dsn(q).find("Status: 5.0.0\r\n"), std::string::npos);
}

}  // namespace
}  // namespace mailroom::bounce
