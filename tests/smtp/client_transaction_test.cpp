// The mail transaction half of the client engine: MAIL/RCPT/DATA/BDAT, PIPELINING, LMTP, local
// verdicts, per-recipient results, connection reuse.
#include <gtest/gtest.h>

#include "client_session_harness.hpp"
#include "smtp/client_session.hpp"

using namespace mailroom::smtp;
using namespace mailroom::smtp::testing;

namespace {

constexpr std::string_view kFlightReplies =
    "250 2.1.0 Ok\r\n"
    "250 2.1.5 Ok\r\n"
    "550 5.1.1 <r2@example.org>: Recipient address rejected: User unknown\r\n"
    "450 4.2.0 <r3@example.org>: Recipient address rejected: Greylisted\r\n"
    "354 End data with <CR><LF>.<CR><LF>\r\n";

Harness pipelined_three(std::string_view replies) {
  Harness h;
  h.greet(kPostfixEhlo);
  EXPECT_EQ(
      h.s.send_message(message({"r1@example.org", "r2@example.org", "r3@example.org"})).status,
      SubmitStatus::Started);
  EXPECT_EQ(h.pump(),
            "MAIL FROM:<chris@contoso.com> SIZE=100\r\n"
            "RCPT TO:<r1@example.org>\r\nRCPT TO:<r2@example.org>\r\nRCPT TO:<r3@example.org>\r\n"
            "DATA\r\n");
  EXPECT_EQ(h.s.replies_awaited(), 5u);
  h.server(replies);
  return h;
}

}  // namespace

TEST(ClientTransaction, PipelinedFlightMatchesRepliesInOrder) {
  Harness h = pipelined_three(kFlightReplies);
  EXPECT_EQ(verdicts(h), (std::vector<std::string>{"1:550 5.1.1", "2:450 4.2.0"}));
  auto results = h.all<RecipientResult>();
  EXPECT_EQ(results[0].stage, ClientState::Rcpt);
  EXPECT_EQ(results[0].reply.lines.at(0),
            "<r2@example.org>: Recipient address rejected: User unknown");
  EXPECT_EQ(h.s.state(), ClientState::DataBody);
  ASSERT_EQ(h.count<BodyWanted>(), 1u);
  h.s.data_body_sent();
  h.server("250 2.0.0 Ok: queued as 4BQ2xX0bKz\r\n");
  EXPECT_EQ(verdicts(h), (std::vector<std::string>{"1:550 5.1.1", "2:450 4.2.0", "0:250 2.0.0"}));
  auto done = h.all<MessageResult>();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].delivered, 1u);
  EXPECT_EQ(done[0].deferred, 1u);
  EXPECT_EQ(done[0].bounced, 1u);
  EXPECT_EQ(h.s.state(), ClientState::Ready);
}

TEST(ClientTransaction, PipelinedRepliesSplitAtEveryByte) {
  std::string replies = std::string(kFlightReplies);
  std::vector<std::string> whole = verdicts(pipelined_three(replies));
  for (std::size_t cut = 0; cut <= replies.size(); ++cut) {
    Harness h;
    h.greet(kPostfixEhlo);
    h.s.send_message(message({"r1@example.org", "r2@example.org", "r3@example.org"}));
    h.pump();
    h.server(replies.substr(0, cut));
    h.server(replies.substr(cut));
    EXPECT_EQ(verdicts(h), whole) << cut;
    EXPECT_EQ(h.s.state(), ClientState::DataBody) << cut;
  }
}

TEST(ClientTransaction, AllRecipientsRefusedButDataAcceptedSendsALoneDot) {
  Harness h;
  h.greet(kPostfixEhlo);
  h.s.send_message(message({"r1@example.org"}));
  h.pump();
  EXPECT_EQ(h.server("250 2.1.0 Ok\r\n550 5.1.1 unknown\r\n354 go ahead\r\n"), ".\r\n");
  EXPECT_EQ(h.count<BodyWanted>(), 0u);
  EXPECT_EQ(h.s.state(), ClientState::EndOfData);
  h.server("554 5.5.1 Error: no valid recipients\r\n");
  EXPECT_EQ(verdicts(h), std::vector<std::string>{"0:550 5.1.1"});  // the RCPT reply counts
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  // The server still holds the sender: the next message starts with RSET.
  h.s.send_message(message({"r9@example.org"}));
  EXPECT_EQ(h.pump().substr(0, 25), "RSET\r\nMAIL FROM:<chris@co");
  EXPECT_EQ(h.s.state(), ClientState::Rset);
  EXPECT_EQ(default_timeout_s(h.s.state()), 20u);
}

TEST(ClientTransaction, PipelinedMailRefusedFailsEveryRecipientWithItsReply) {
  Harness h;
  h.greet(kPostfixEhlo);
  h.s.send_message(message({"r1@example.org", "r2@example.org"}));
  h.pump();
  EXPECT_EQ(h.server("553 5.7.1 <chris@contoso.com>: Sender address rejected\r\n"
                     "503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n"
                     "503 5.5.1 Error: need RCPT command\r\n"),
            "");
  EXPECT_EQ(verdicts(h), (std::vector<std::string>{"0:553 5.7.1", "1:553 5.7.1"}));
  EXPECT_EQ(h.all<RecipientResult>()[1].stage, ClientState::Mail);
  EXPECT_EQ(h.count<MessageResult>(), 1u);
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  h.s.send_message(message({"r9@example.org"}));
  EXPECT_EQ(h.pump().substr(0, 10), "MAIL FROM:");  // no transaction was open: no RSET
}

TEST(ClientTransaction, DataRefusedAfterAcceptedRecipients) {
  Harness h;
  h.greet(kPostfixEhlo);
  h.s.send_message(message({"r1@example.org", "r2@example.org"}));
  h.pump();
  h.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 unknown\r\n451 4.3.0 Try again later\r\n");
  EXPECT_EQ(verdicts(h), (std::vector<std::string>{"1:550 5.1.1", "0:451 4.3.0"}));
  EXPECT_EQ(h.all<RecipientResult>()[1].stage, ClientState::Data);
  EXPECT_EQ(h.all<MessageResult>().at(0).deferred, 1u);
  h.s.send_message(message({"r1@example.org"}));
  EXPECT_EQ(h.pump().substr(0, 6), "RSET\r\n");
}

TEST(ClientTransaction, WithoutPipeliningRsetIsAnsweredBeforeMail) {
  ClientOptions o = client_options();
  o.pipelining = false;
  Harness h(o);
  h.greet(kPlainEhlo);
  h.s.send_message(message({"r1@example.org"}));
  EXPECT_EQ(h.pump(), "MAIL FROM:<chris@contoso.com> SIZE=100\r\n");
  EXPECT_EQ(h.server("250 ok\r\n"), "RCPT TO:<r1@example.org>\r\n");
  EXPECT_EQ(h.server("550 5.1.1 unknown\r\n"), "");  // no recipient left: no DATA
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  EXPECT_EQ(h.all<MessageResult>().at(0).bounced, 1u);
  h.s.send_message(message({"r2@example.org"}));
  EXPECT_EQ(h.pump(), "RSET\r\n");
  EXPECT_EQ(h.server("250 2.0.0 Ok\r\n"), "MAIL FROM:<chris@contoso.com> SIZE=100\r\n");
  EXPECT_EQ(h.s.messages_started(), 2u);
}

TEST(ClientTransaction, SeveralMessagesPerConnection) {
  Harness h;
  h.greet(kPostfixEhlo);
  for (std::uint32_t n = 0; n < 3; ++n) {
    ASSERT_EQ(h.s.send_message(message({"r1@example.org"})).status, SubmitStatus::Started);
    EXPECT_EQ(h.pump().substr(0, 10), "MAIL FROM:");  // a completed message needs no RSET
    h.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
    h.s.data_body_sent();
    h.server("250 2.0.0 Ok: queued\r\n");
    ASSERT_EQ(h.count<MessageResult>(), n + 1);
    EXPECT_EQ(h.all<MessageResult>().back().message, n);
    EXPECT_EQ(h.all<RecipientResult>().back().message, n);
  }
  EXPECT_EQ(h.count<SessionReady>(), 4u);
}

TEST(ClientTransaction, Reply421MidFlightDefersEverythingNotFinal) {
  Harness h = pipelined_three(
      "250 2.1.0 Ok\r\n550 5.1.1 unknown\r\n421 4.7.0 Too many errors on this connection\r\n");
  EXPECT_EQ(verdicts(h), (std::vector<std::string>{"0:550 5.1.1", "1:421 4.7.0", "2:421 4.7.0"}));
  auto results = h.all<RecipientResult>();
  EXPECT_TRUE(results[1].from_server);
  EXPECT_EQ(results[1].stage, ClientState::Rcpt);
  auto failed = h.all<SessionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].stage, ClientState::Rcpt);
  EXPECT_TRUE(failed[0].transient());
  EXPECT_EQ(h.all<MessageResult>().at(0).deferred, 2u);
  EXPECT_EQ(h.s.state(), ClientState::Failed);
  EXPECT_EQ(h.pump(), "");  // no QUIT after 421
}

TEST(ClientTransaction, ConnectionLostDuringTheBody) {
  Harness h = pipelined_three(kFlightReplies);
  h.s.on_connection_lost();
  EXPECT_EQ(h.pump(), "");
  EXPECT_EQ(verdicts(h), (std::vector<std::string>{"1:550 5.1.1", "2:450 4.2.0", "0:421 4.4.2"}));
  auto r = h.all<RecipientResult>().back();
  EXPECT_FALSE(r.from_server);
  EXPECT_EQ(r.stage, ClientState::DataBody);
  EXPECT_EQ(r.reply.lines.at(0), "lost connection with server in state data-body");
  EXPECT_EQ(h.s.state(), ClientState::Failed);
}

TEST(ClientTransaction, TimeoutAfterEndOfData) {
  Harness h = pipelined_three(kFlightReplies);
  h.s.data_body_sent();
  h.s.on_connection_lost(ConnectionEnd::Timeout);
  h.pump();
  auto r = h.all<RecipientResult>().back();
  EXPECT_EQ(r.reply, make_reply(421, "4.4.2", "timeout waiting for server in state end-of-data"));
  EXPECT_EQ(r.stage, ClientState::EndOfData);
}

TEST(ClientTransaction, UnexpectedReplyDuringTheBodyIsTransient) {
  Harness h = pipelined_three(kFlightReplies);
  EXPECT_EQ(h.server("552 5.3.4 Message too big\r\n"), "");  // no QUIT: it would be body text
  ASSERT_EQ(h.count<ProtocolViolation>(), 1u);
  auto r = h.all<RecipientResult>().back();
  EXPECT_EQ(r.recipient, 0u);
  EXPECT_EQ(r.reply, make_reply(451, "4.5.0",
                                "unexpected reply in state data-body: 552 5.3.4 Message too big"));
  EXPECT_FALSE(r.from_server);
  EXPECT_EQ(h.s.state(), ClientState::Failed);
}

TEST(ClientTransaction, RsetFailureWhilePipelinedSendsNothingMore) {
  Harness h;
  h.greet(kPostfixEhlo);
  h.s.send_message(message({"r1@example.org"}));
  h.pump();
  h.server("250 Ok\r\n550 no\r\n354 go\r\n");
  h.server("554 no valid recipients\r\n");
  h.s.send_message(message({"r2@example.org"}));
  EXPECT_EQ(h.pump().substr(0, 6), "RSET\r\n");
  EXPECT_EQ(h.server("500 5.5.1 what?\r\n"), "");  // MAIL, RCPT, DATA replies still due
  auto failed = h.all<SessionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].stage, ClientState::Rset);
  auto r = h.all<RecipientResult>().back();
  EXPECT_EQ(r.message, 1u);
  EXPECT_EQ(r.reply, make_reply(451, "4.5.0", "session failed in state rset: 500 5.5.1 what?"));
  EXPECT_EQ(h.s.state(), ClientState::Failed);
}

TEST(ClientTransaction, SizeOverTheServersLimitFailsWithoutSending) {
  Harness h;
  h.greet(kPlainEhlo);  // SIZE 1000
  EXPECT_EQ(h.s.send_message(message({"a@example.org", "b@example.org"}, 1001)).status,
            SubmitStatus::Started);
  EXPECT_EQ(h.pump(), "");
  EXPECT_EQ(verdicts(h), (std::vector<std::string>{"0:552 5.3.4", "1:552 5.3.4"}));
  auto r = h.all<RecipientResult>()[0];
  EXPECT_FALSE(r.from_server);
  EXPECT_EQ(r.stage, ClientState::Mail);
  EXPECT_EQ(r.reply.lines.at(0), "message size 1001 exceeds size limit 1000 of server");
  EXPECT_EQ(h.all<MessageResult>().at(0).bounced, 2u);
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  EXPECT_EQ(h.count<SessionReady>(), 2u);
  h.s.send_message(message({"a@example.org"}, 1000));
  EXPECT_EQ(h.pump(), "MAIL FROM:<chris@contoso.com> SIZE=1000\r\n");
}

TEST(ClientTransaction, UnlimitedSizeIsNotChecked) {
  Harness h;
  h.greet("250-mx\r\n250 SIZE\r\n");
  h.s.send_message(message({"a@example.org"}, 1ull << 40));
  EXPECT_EQ(h.pump(), "MAIL FROM:<chris@contoso.com> SIZE=1099511627776\r\n");
}

TEST(ClientTransaction, Smtputf8NeededButNotOffered) {
  Harness h;
  h.greet(kPlainEhlo);
  OutboundMessage m = message({"kate@example.org", "\xe7\x94\xa8\xe6\x88\xb7@example.org"});
  EXPECT_EQ(h.s.send_message(m).status, SubmitStatus::Started);
  EXPECT_EQ(h.pump(), "");
  EXPECT_EQ(verdicts(h), (std::vector<std::string>{"0:554 5.6.7", "1:554 5.6.7"}));

  Harness utf8;
  utf8.greet(kPostfixEhlo);
  utf8.s.send_message(m);
  EXPECT_EQ(utf8.pump().substr(0, 48), "MAIL FROM:<chris@contoso.com> SIZE=100 SMTPUTF8\r");
}

TEST(ClientTransaction, BodyTypesTheServerCannotTake) {
  Harness h;
  h.greet(kPostfixEhlo);  // 8BITMIME and CHUNKING, no BINARYMIME
  OutboundMessage m = message({"a@example.org"});
  m.body = BodyType::BinaryMime;
  EXPECT_EQ(h.s.send_message(m).status, SubmitStatus::NeedsConversion);
  EXPECT_EQ(h.pump(), "");
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  EXPECT_EQ(h.count<RecipientResult>(), 0u);  // not a verdict: the caller converts or bounces

  Harness helo;
  helo.connect();
  helo.server(kBanner);
  helo.server("500 unrecognized\r\n");
  helo.server("250 mx\r\n");
  m.body = BodyType::EightBitMime;
  EXPECT_EQ(helo.s.send_message(m).status, SubmitStatus::NeedsSevenBit);
  m.body = BodyType::SevenBit;
  EXPECT_EQ(helo.s.send_message(m).status, SubmitStatus::Started);
}

TEST(ClientTransaction, BinaryMimeUsesBdatEvenWhenNotAskedTo) {
  Harness h;
  h.greet(kExchangeEhlo);
  OutboundMessage m = message({"kate@fabrikam.com"}, 986);
  m.body = BodyType::BinaryMime;
  EXPECT_EQ(h.s.send_message(m).status, SubmitStatus::Started);
  // RFC 3030 4.2's example: MAIL, RCPT and the whole body in one flight.
  EXPECT_EQ(h.pump(),
            "MAIL FROM:<chris@contoso.com> SIZE=986 BODY=BINARYMIME\r\n"
            "RCPT TO:<kate@fabrikam.com>\r\n");
  ASSERT_EQ(h.count<BodyWanted>(), 1u);
  EXPECT_EQ(h.all<BodyWanted>()[0].mode, BodyMode::Bdat);
  EXPECT_TRUE(h.s.may_send_chunk());
  EXPECT_TRUE(h.s.bdat_chunk(986, true));
  EXPECT_EQ(h.pump(), "BDAT 986 LAST\r\n");
  EXPECT_FALSE(h.s.may_send_chunk());
  EXPECT_FALSE(h.s.bdat_chunk(1, true));
  h.server("250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n");
  EXPECT_EQ(h.s.state(), ClientState::EndOfData);
  h.server("250 2.6.0 <id@mail1.fabrikam.com> Queued mail for delivery\r\n");
  EXPECT_EQ(verdicts(h), std::vector<std::string>{"0:250 2.6.0"});
  EXPECT_EQ(h.all<RecipientResult>()[0].stage, ClientState::EndOfData);
  EXPECT_EQ(h.s.state(), ClientState::Ready);
}

TEST(ClientTransaction, BigBdatMessageWaitsForTheRcptReplies) {
  ClientOptions o = client_options();
  o.chunking = true;
  Harness h(o);
  h.greet(kExchangeEhlo);
  h.s.send_message(message({"kate@fabrikam.com"}, 1 << 20));
  h.pump();
  EXPECT_EQ(h.count<BodyWanted>(), 0u);
  EXPECT_FALSE(h.s.may_send_chunk());
  h.server("250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n");
  EXPECT_EQ(h.count<BodyWanted>(), 1u);
  EXPECT_EQ(h.s.state(), ClientState::DataBody);
  // With PIPELINING every chunk may go without waiting.
  EXPECT_TRUE(h.s.bdat_chunk(65536, false));
  EXPECT_TRUE(h.s.bdat_chunk(65536, false));
  EXPECT_EQ(h.pump(), "BDAT 65536\r\nBDAT 65536\r\n");
  EXPECT_EQ(h.s.state(), ClientState::Bdat);
  // A refused chunk ends the transaction: no more chunks, RSET before the next MAIL.
  h.server("554 5.6.0 content rejected\r\n");
  EXPECT_FALSE(h.s.may_send_chunk());
  EXPECT_EQ(verdicts(h), std::vector<std::string>{"0:554 5.6.0"});
  EXPECT_EQ(h.all<RecipientResult>()[0].stage, ClientState::Bdat);
  EXPECT_EQ(h.count<MessageResult>(), 0u);  // the second chunk's reply is still due
  h.server("503 5.5.1 bad sequence\r\n");
  EXPECT_EQ(h.count<MessageResult>(), 1u);
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  h.s.send_message(message({"kate@fabrikam.com"}, 10));
  EXPECT_EQ(h.pump().substr(0, 6), "RSET\r\n");
}

TEST(ClientTransaction, BdatWithoutPipeliningOneChunkAtATime) {
  ClientOptions o = client_options();
  o.chunking = true;
  o.pipelining = false;
  Harness h(o);
  h.greet(kExchangeEhlo);
  h.s.send_message(message({"kate@fabrikam.com"}, 15));
  EXPECT_EQ(h.pump(), "MAIL FROM:<chris@contoso.com> SIZE=15\r\n");
  EXPECT_EQ(h.count<BodyWanted>(), 0u);  // no flight without PIPELINING
  EXPECT_EQ(h.server("250 2.1.0 Sender OK\r\n"), "RCPT TO:<kate@fabrikam.com>\r\n");
  h.server("250 2.1.5 Recipient OK\r\n");
  EXPECT_EQ(h.count<BodyWanted>(), 1u);
  EXPECT_TRUE(h.s.bdat_chunk(10, false));
  EXPECT_FALSE(h.s.may_send_chunk());
  EXPECT_EQ(h.pump(), "BDAT 10\r\n");
  EXPECT_EQ(h.s.state(), ClientState::Bdat);
  h.server("250 2.0.0 10 octets received\r\n");
  EXPECT_EQ(h.count<BodyWanted>(), 2u);  // one per chunk
  EXPECT_TRUE(h.s.bdat_chunk(5, true));
  EXPECT_EQ(h.pump(), "BDAT 5 LAST\r\n");
  h.server("250 2.6.0 Queued mail for delivery\r\n");
  EXPECT_EQ(verdicts(h), std::vector<std::string>{"0:250 2.6.0"});
}

TEST(ClientTransaction, LmtpOneReplyPerAcceptedRecipient) {
  ClientOptions o = client_options();
  o.lmtp = true;
  Harness h(o);
  h.connect();
  h.server("220 localhost LMTP\r\n");
  EXPECT_EQ(
      h.server("250-localhost\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"),
      "");
  h.s.send_message(message({"a@example.test", "b@example.test", "c@example.test"}));
  EXPECT_EQ(h.pump(),
            "MAIL FROM:<chris@contoso.com>\r\nRCPT TO:<a@example.test>\r\n"
            "RCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n");
  h.server("250 2.1.0 OK\r\n250 2.1.5 OK\r\n550 5.1.1 no such user\r\n250 2.1.5 OK\r\n354 go\r\n");
  h.s.data_body_sent();
  h.server("250 2.0.0 <a@example.test> delivered\r\n");
  EXPECT_EQ(h.s.state(), ClientState::EndOfData);  // c's reply is still due
  h.server("452 4.2.2 <c@example.test> Mailbox full\r\n");
  EXPECT_EQ(verdicts(h), (std::vector<std::string>{"1:550 5.1.1", "0:250 2.0.0", "2:452 4.2.2"}));
  auto done = h.all<MessageResult>();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].delivered, 1u);
  EXPECT_EQ(done[0].deferred, 1u);
  EXPECT_EQ(done[0].bounced, 1u);
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  EXPECT_TRUE(h.s.quit());
}

TEST(ClientTransaction, LmtpBdatLastGetsOneReplyPerRecipient) {
  ClientOptions o = client_options();
  o.lmtp = true;
  o.chunking = true;
  Harness h(o);
  h.connect();
  h.server("220 localhost LMTP\r\n");
  h.server("250-localhost\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
  h.s.send_message(message({"a@example.test", "b@example.test"}, 20));
  h.pump();
  ASSERT_TRUE(h.s.bdat_chunk(20, true));  // in the flight, before any RCPT reply
  h.server("250 OK\r\n250 OK\r\n250 OK\r\n250 2.0.0 a ok\r\n");
  EXPECT_EQ(h.count<MessageResult>(), 0u);
  h.server("250 2.0.0 b ok\r\n");
  EXPECT_EQ(verdicts(h), (std::vector<std::string>{"0:250 2.0.0", "1:250 2.0.0"}));
  EXPECT_EQ(h.all<RecipientResult>()[1].reply.lines.at(0), "b ok");
}

TEST(ClientTransaction, DsnParametersOnlyWhenOffered) {
  OutboundMessage m = message({"kate@fabrikam.com"});
  m.ret = "HDRS";
  m.envid = "QQ314159";
  m.recipients[0].notify = kNotifySuccess | kNotifyFailure;
  m.recipients[0].orcpt = "rfc822;kate@fabrikam.com";

  Harness dsn;
  dsn.greet(kPostfixEhlo);
  dsn.s.send_message(m);
  EXPECT_EQ(dsn.pump(),
            "MAIL FROM:<chris@contoso.com> SIZE=100 RET=HDRS ENVID=QQ314159\r\n"
            "RCPT TO:<kate@fabrikam.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;kate@fabrikam.com\r\n"
            "DATA\r\n");

  ClientOptions o = client_options();
  o.pipelining = false;
  Harness plain(o);
  plain.greet(kPlainEhlo);
  plain.s.send_message(m);
  EXPECT_EQ(plain.pump(), "MAIL FROM:<chris@contoso.com> SIZE=100\r\n");
  EXPECT_EQ(plain.server("250 ok\r\n"), "RCPT TO:<kate@fabrikam.com>\r\n");
  plain.server("250 ok\r\n");
  plain.server("354 go\r\n");
  plain.s.data_body_sent();
  plain.server("250 queued\r\n");
  auto r = plain.all<RecipientResult>();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].relayed_without_dsn);  // the sender asked for SUCCESS: a "relayed" DSN is due
  EXPECT_FALSE(r[0].dsn_passed_on);
}

// Found by test_remote_dsn.py and test_remote_lmtp.py: a next hop with DSN got NOTIFY=SUCCESS
// and the sender still got a "delivered" report from us (the next hop owes it, RFC 3461 5.2.2);
// a local delivery through LMTP gave a "relayed" report (LMTP is the final delivery).
TEST(ClientTransaction, SuccessReportDutyFollowsNotify) {
  OutboundMessage m = message({"kate@fabrikam.com"});
  m.recipients[0].notify = kNotifySuccess;
  Harness dsn;
  dsn.greet(kPostfixEhlo);  // offers DSN
  dsn.s.send_message(m);
  dsn.pump();
  dsn.server("250 ok\r\n250 ok\r\n354 go\r\n");
  dsn.s.data_body_sent();
  dsn.server("250 queued\r\n");
  auto r = dsn.all<RecipientResult>();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].dsn_passed_on);
  EXPECT_FALSE(r[0].relayed_without_dsn);

  ClientOptions o = client_options();
  o.lmtp = true;
  Harness lmtp(o);
  lmtp.connect();
  lmtp.server("220 localhost LMTP\r\n");
  lmtp.server("250-localhost\r\n250 PIPELINING\r\n");  // no DSN, like Dovecot
  lmtp.s.send_message(m);
  lmtp.pump();
  lmtp.server("250 ok\r\n250 ok\r\n354 go\r\n");
  lmtp.s.data_body_sent();
  lmtp.server("250 2.0.0 <kate@fabrikam.com> Saved\r\n");
  r = lmtp.all<RecipientResult>();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].reply.code, 250);
  EXPECT_FALSE(r[0].relayed_without_dsn);  // "delivered", from us
  EXPECT_FALSE(r[0].dsn_passed_on);
}

TEST(ClientTransaction, SubmissionRefusals) {
  Harness h;
  EXPECT_EQ(h.s.send_message(message({"a@example.org"})).status, SubmitStatus::NotReady);
  h.greet(kPostfixEhlo);
  EXPECT_EQ(h.s.send_message(message({})).status, SubmitStatus::NoRecipients);
  auto r = h.s.send_message(message({"a@example.org", "b@example.org>\r\nRCPT TO:<c@evil"}));
  EXPECT_EQ(r.status, SubmitStatus::InvalidEnvelope);
  EXPECT_EQ(r.error, CommandError::ForbiddenByte);
  EXPECT_EQ(r.recipient, 1u);
  OutboundMessage bad_sender = message({"a@example.org"});
  bad_sender.sender = "x@y> SIZE=1";
  r = h.s.send_message(bad_sender);
  EXPECT_EQ(r.status, SubmitStatus::InvalidEnvelope);
  EXPECT_EQ(r.error, CommandError::BadAddress);
  EXPECT_FALSE(r.recipient);
  // Checked even though this server would never see ENVID (no DSN): the same envelope must not
  // be valid on one server and refused on another.
  Harness no_dsn;
  no_dsn.greet(kPlainEhlo);
  OutboundMessage long_envid = message({"a@example.org"});
  long_envid.envid = std::string(101, 'x');
  EXPECT_EQ(no_dsn.s.send_message(long_envid).status, SubmitStatus::InvalidEnvelope);
  EXPECT_EQ(h.pump(), "");
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  // A message in progress: not ready for another.
  h.s.send_message(message({"a@example.org"}));
  EXPECT_EQ(h.s.send_message(message({"a@example.org"})).status, SubmitStatus::NotReady);
  EXPECT_FALSE(h.s.quit());
}

// RFC 5321 4.3.2: a 250 to DATA or a 354 to RCPT is a server out of step. Taking it at its word
// would report delivered a message whose body was never sent.
TEST(ClientTransaction, OutOfStepPositiveRepliesAreNeverDeliveries) {
  Harness data = pipelined_three("250 2.1.0 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n250 2.0.0 Ok\r\n");
  auto v = data.all<ProtocolViolation>();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].stage, ClientState::Data);
  EXPECT_EQ(verdicts(data),
            (std::vector<std::string>{"0:451 4.5.0", "1:451 4.5.0", "2:451 4.5.0"}));
  EXPECT_EQ(data.all<MessageResult>().at(0).delivered, 0u);
  EXPECT_EQ(data.s.state(), ClientState::Failed);

  Harness rcpt = pipelined_three("250 2.1.0 Ok\r\n354 go ahead\r\n");
  ASSERT_EQ(rcpt.count<ProtocolViolation>(), 1u);
  EXPECT_EQ(rcpt.all<ProtocolViolation>()[0].stage, ClientState::Rcpt);
  EXPECT_EQ(rcpt.all<MessageResult>().at(0).deferred, 3u);

  Harness banner;
  banner.connect();
  EXPECT_EQ(banner.server("334 VXNlcm5hbWU6\r\n"), "");
  EXPECT_EQ(banner.all<SessionFailed>().at(0).cause, FailureCause::UnexpectedReply);
  EXPECT_EQ(banner.all<SessionFailed>().at(0).stage, ClientState::Banner);
}

// The tester's probe: MAIL and RCPT only; each recipient's verdict is its RCPT reply; nothing is
// sent as DATA, and rset() clears the transaction before QUIT.
TEST(ClientTransaction, EnvelopeOnlyStopsAfterRcptAndRsetClearsIt) {
  Harness h;
  h.greet(kPostfixEhlo);
  auto m = message({"r1@example.org", "r2@example.org"});
  m.envelope_only = true;
  EXPECT_EQ(h.s.send_message(m).status, SubmitStatus::Started);
  EXPECT_EQ(h.pump(),
            "MAIL FROM:<chris@contoso.com> SIZE=100\r\n"
            "RCPT TO:<r1@example.org>\r\nRCPT TO:<r2@example.org>\r\n");
  EXPECT_EQ(h.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.7.1 Relay access denied\r\n"), "");
  EXPECT_EQ(verdicts(h), (std::vector<std::string>{"1:550 5.7.1", "0:250 2.1.5"}));
  EXPECT_EQ(h.count<BodyWanted>(), 0u);
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  EXPECT_TRUE(h.s.rset());
  EXPECT_EQ(h.pump(), "RSET\r\n");
  EXPECT_EQ(h.server("250 2.0.0 Ok\r\n"), "");
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  EXPECT_TRUE(h.s.quit());
  EXPECT_EQ(h.pump(), "QUIT\r\n");
}
