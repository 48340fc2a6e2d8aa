// The inbound session's order rules: which verb each state refuses, with which reply, and the
// names the session log shows.
#include "smtp/session_state.hpp"

#include <gtest/gtest.h>

namespace mailroom::smtp {
namespace {

std::string refusal(const SessionState& s, Verb v) {
  auto r = s.check(v);
  return r ? r->summary() : "allowed";
}

TEST(SessionState, BeforeHelloOnlyHelloAndHousekeepingAreAllowed) {
  SessionState s;
  EXPECT_EQ(s.name(), "connected");
  for (Verb v : {Verb::Mail, Verb::Rcpt, Verb::Data, Verb::Bdat, Verb::Auth})
    EXPECT_EQ(refusal(s, v), "503 5.5.2 Send hello first") << verb_name(v);
  for (Verb v : {Verb::Helo, Verb::Ehlo, Verb::Rset, Verb::Noop, Verb::Quit, Verb::Vrfy, Verb::Expn,
                 Verb::Help, Verb::StartTls, Verb::Unknown})
    EXPECT_EQ(refusal(s, v), "allowed") << verb_name(v);
}

TEST(SessionState, TheSeedsSequenceRepliesInOrder) {
  SessionState s;
  EXPECT_EQ(s.hello(true).to, "ehlo");
  EXPECT_EQ(refusal(s, Verb::Rcpt), "503 5.5.2 Need mail command");
  EXPECT_EQ(refusal(s, Verb::Data), "503 5.5.2 Need mail command");
  EXPECT_EQ(refusal(s, Verb::Mail), "allowed");
  auto change = s.mail();
  EXPECT_EQ(change.from, "ehlo");
  EXPECT_EQ(change.to, "mail");
  EXPECT_EQ(refusal(s, Verb::Mail), "503 5.5.1 Sender already specified");
  EXPECT_EQ(refusal(s, Verb::Data), "503 5.5.2 Need rcpt command");
  EXPECT_EQ(refusal(s, Verb::Bdat), "503 5.5.2 Need rcpt command");
  EXPECT_EQ(refusal(s, Verb::Auth), "503 5.5.1 Sender already specified");
  s.rcpt();
  EXPECT_EQ(s.name(), "rcpt");
  EXPECT_EQ(refusal(s, Verb::Rcpt), "allowed");
  EXPECT_EQ(refusal(s, Verb::Data), "allowed");
  EXPECT_EQ(s.end_transaction().to, "ehlo");
  EXPECT_EQ(refusal(s, Verb::Rcpt), "503 5.5.2 Need mail command");
}

TEST(SessionState, HeloIsLoggedAsHeloAndDoesNotAllowAuth) {
  SessionState s;
  auto change = s.hello(false);
  EXPECT_EQ(change.from, "connected");
  EXPECT_EQ(change.to, "helo");
  EXPECT_FALSE(s.esmtp());
  EXPECT_EQ(refusal(s, Verb::Auth), "503 5.5.2 Send hello first");
  EXPECT_EQ(refusal(s, Verb::Mail), "allowed");
}

TEST(SessionState, BdatChunksForbidDataAndFurtherRecipients) {
  SessionState s;
  s.hello(true);
  s.mail();
  s.rcpt();
  EXPECT_EQ(s.bdat_chunk().to, "bdat");
  EXPECT_EQ(refusal(s, Verb::Data),
            "503 5.5.1 DATA not allowed after BDAT in the same transaction");
  EXPECT_EQ(refusal(s, Verb::Rcpt),
            "503 5.5.1 RCPT not allowed after BDAT in the same transaction");
  EXPECT_EQ(refusal(s, Verb::Bdat), "allowed");
  EXPECT_EQ(refusal(s, Verb::Mail), "503 5.5.1 Sender already specified");
}

TEST(SessionState, HelloAgainClearsTheTransaction) {
  SessionState s;
  s.hello(true);
  s.mail();
  s.rcpt();
  auto change = s.hello(false);
  EXPECT_EQ(change.from, "rcpt");
  EXPECT_EQ(change.to, "helo");
  EXPECT_FALSE(s.in_transaction());
}

TEST(SessionState, StartTlsForgetsTheGreeting) {
  SessionState s;
  s.hello(true);
  auto change = s.tls_started();
  EXPECT_EQ(change.from, "ehlo");
  EXPECT_EQ(change.to, "connected");
  EXPECT_FALSE(s.esmtp());
  EXPECT_EQ(refusal(s, Verb::Mail), "503 5.5.2 Send hello first");
}

TEST(SessionState, RsetBeforeHelloStaysConnected) {
  SessionState s;
  auto change = s.end_transaction();
  EXPECT_FALSE(change.changed());
  EXPECT_EQ(s.name(), "connected");
}

}  // namespace
}  // namespace mailroom::smtp
