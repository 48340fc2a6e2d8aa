// The connection half of the client engine: greeting, EHLO/HELO, STARTTLS, AUTH, failures.
// Message transactions are in client_transaction_test.cpp.
#include "smtp/client_session.hpp"

#include <gtest/gtest.h>

#include "client_session_harness.hpp"

using namespace mailroom::smtp;
using namespace mailroom::smtp::testing;

TEST(ClientSession, StateNamesAndPostfixTimeouts) {
  const std::vector<std::string_view> names = {
      "connecting",  "banner", "ehlo", "helo", "starttls", "tls-handshake", "tls-ehlo",
      "auth",        "ready",  "rset", "mail", "rcpt",     "data",          "data-body",
      "end-of-data", "bdat",   "quit", "done", "failed"};
  ASSERT_EQ(names.size(), kClientStateCount);
  for (std::size_t i = 0; i < kClientStateCount; ++i) {
    EXPECT_EQ(state_name(static_cast<ClientState>(i)), names[i]);
  }
  EXPECT_EQ(default_timeout_s(ClientState::Connecting), 30u);
  EXPECT_EQ(default_timeout_s(ClientState::Banner), 300u);
  EXPECT_EQ(default_timeout_s(ClientState::Mail), 300u);
  EXPECT_EQ(default_timeout_s(ClientState::Rcpt), 300u);
  EXPECT_EQ(default_timeout_s(ClientState::Data), 120u);
  EXPECT_EQ(default_timeout_s(ClientState::DataBody), 180u);
  EXPECT_EQ(default_timeout_s(ClientState::Bdat), 180u);
  EXPECT_EQ(default_timeout_s(ClientState::EndOfData), 600u);
  EXPECT_EQ(default_timeout_s(ClientState::Rset), 20u);
  EXPECT_EQ(default_timeout_s(ClientState::Quit), 300u);
  EXPECT_EQ(default_timeout_s(ClientState::Ready), 0u);
  EXPECT_EQ(default_timeout_s(ClientState::Done), 0u);
}

// Seed 002's session, one command at a time (PIPELINING switched off by the caller).
TEST(ClientSession, SeedTranscriptWithoutPipelining) {
  ClientOptions o = client_options();
  o.pipelining = false;
  Harness h(o);
  EXPECT_EQ(h.s.state(), ClientState::Connecting);
  EXPECT_EQ(h.connect(), "");
  EXPECT_EQ(h.s.state(), ClientState::Banner);
  EXPECT_EQ(h.server(kBanner), "EHLO client.example.net\r\n");
  EXPECT_EQ(h.s.state(), ClientState::Ehlo);
  EXPECT_EQ(h.server(kExchangeEhlo), "");
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  EXPECT_EQ(h.count<SessionReady>(), 1u);
  EXPECT_EQ(h.s.capabilities().greeting_domain, "mail1.fabrikam.com");
  EXPECT_TRUE(h.s.esmtp());
  EXPECT_FALSE(h.s.pipelining());

  OutboundMessage m = message({"kate@fabrikam.com"});
  m.recipients[0].notify = kNotifySuccess | kNotifyFailure;
  EXPECT_EQ(h.s.send_message(m).status, SubmitStatus::Started);
  EXPECT_EQ(h.pump(), "MAIL FROM:<chris@contoso.com> SIZE=100\r\n");
  EXPECT_EQ(h.s.state(), ClientState::Mail);
  EXPECT_EQ(h.server("250 2.1.0 Sender OK\r\n"),
            "RCPT TO:<kate@fabrikam.com> NOTIFY=SUCCESS,FAILURE\r\n");
  EXPECT_EQ(h.s.state(), ClientState::Rcpt);
  EXPECT_EQ(h.server("250 2.1.5 Recipient OK\r\n"), "DATA\r\n");
  EXPECT_EQ(h.s.state(), ClientState::Data);
  EXPECT_EQ(h.server("354 Start mail input; end with <CRLF>.<CRLF>\r\n"), "");
  EXPECT_EQ(h.s.state(), ClientState::DataBody);
  ASSERT_EQ(h.count<BodyWanted>(), 1u);
  EXPECT_EQ(h.all<BodyWanted>()[0].mode, BodyMode::Data);
  h.s.data_body_sent();
  EXPECT_EQ(h.pump(), "");
  EXPECT_EQ(h.s.state(), ClientState::EndOfData);
  EXPECT_EQ(default_timeout_s(h.s.state()), 600u);
  h.server(
      "250 2.6.0 <c89b4fcc-3ad1-4758-a1ab-1e820065d622@mail1.fabrikam.com> "
      "[InternalId=5111011082268, Hostname=mail1.fabrikam.com] Queued mail for delivery\r\n");
  auto results = h.all<RecipientResult>();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].message, 0u);
  EXPECT_EQ(results[0].recipient, 0u);
  EXPECT_EQ(results[0].stage, ClientState::EndOfData);
  EXPECT_EQ(results[0].reply.code, 250);
  EXPECT_EQ(results[0].reply.enhanced, "2.6.0");
  EXPECT_TRUE(results[0].from_server);
  EXPECT_FALSE(results[0].relayed_without_dsn);  // Exchange offers DSN
  auto done = h.all<MessageResult>();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].delivered, 1u);
  EXPECT_EQ(h.count<SessionReady>(), 2u);
  EXPECT_TRUE(h.s.quit());
  EXPECT_EQ(h.pump(), "QUIT\r\n");
  EXPECT_EQ(h.s.state(), ClientState::Quit);
  h.server("221 2.0.0 Service closing transmission channel\r\n");
  EXPECT_EQ(h.s.state(), ClientState::Done);
  EXPECT_TRUE(h.s.finished());
  EXPECT_EQ(h.count<SessionFailed>(), 0u);
  std::vector<std::string> transcript = h.transcript();
  ASSERT_GE(transcript.size(), 4u);
  EXPECT_EQ(transcript[0].substr(0, 20), "S: 220 mail1.fabrika");
  EXPECT_EQ(transcript[1], "C: EHLO client.example.net");
  EXPECT_EQ(transcript.back(), "S: 221 2.0.0 Service closing transmission channel");
}

TEST(ClientSession, BannerRefusalStillSaysQuit) {
  Harness h;
  h.connect();
  EXPECT_EQ(h.server("554 5.7.1 Client host rejected: access denied\r\n"), "QUIT\r\n");
  auto failed = h.all<SessionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].stage, ClientState::Banner);
  EXPECT_EQ(failed[0].cause, FailureCause::ServerReply);
  EXPECT_EQ(failed[0].reply, make_reply(554, "5.7.1", "Client host rejected: access denied"));
  EXPECT_TRUE(failed[0].from_server);
  EXPECT_FALSE(failed[0].transient());
  EXPECT_EQ(h.s.state(), ClientState::Quit);
  h.s.on_connection_lost();
  EXPECT_EQ(h.pump(), "");
  EXPECT_EQ(h.s.state(), ClientState::Failed);
  EXPECT_EQ(h.count<SessionFailed>(), 1u);
}

TEST(ClientSession, BannerBeforeOnConnectedIsStillTheBanner) {
  Harness h;
  EXPECT_EQ(h.server("220 mx ESMTP\r\n"), "EHLO client.example.net\r\n");
}

// Seed 004: a Cisco PIX with "fixup smtp" masks the banner and turns EHLO into XXXX (500).
TEST(ClientSession, CiscoPixFallsBackToHelo) {
  Harness h;
  h.connect();
  EXPECT_EQ(h.server("220 *********0****************************************2*2*****0****0*\r\n"),
            "EHLO client.example.net\r\n");
  EXPECT_EQ(h.server("500 5.3.3 Unrecognized command\r\n"), "HELO client.example.net\r\n");
  EXPECT_EQ(h.s.state(), ClientState::Helo);
  EXPECT_EQ(h.server("250 server.example.com Hello [192.168.217.64]\r\n"), "");
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  EXPECT_FALSE(h.s.esmtp());
  EXPECT_EQ(h.s.capabilities().greeting_domain, "server.example.com");
  // No ESMTP: no parameter of any kind, whatever the message asks for.
  OutboundMessage m = message({"kate@fabrikam.com"});
  m.body = BodyType::SevenBit;
  m.ret = "HDRS";
  m.recipients[0].notify = kNotifyFailure;
  EXPECT_EQ(h.s.send_message(m).status, SubmitStatus::Started);
  EXPECT_EQ(h.pump(), "MAIL FROM:<chris@contoso.com>\r\n");
}

TEST(ClientSession, HeloRefusedToo) {
  Harness h;
  h.connect();
  h.server(kBanner);
  h.server("502 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(h.server("554 5.7.1 go away\r\n"), "QUIT\r\n");
  ASSERT_EQ(h.count<SessionFailed>(), 1u);
  EXPECT_EQ(h.all<SessionFailed>()[0].stage, ClientState::Helo);
}

TEST(ClientSession, TransientEhloFailureIsNotAHeloFallback) {
  Harness h;
  h.connect();
  h.server(kBanner);
  EXPECT_EQ(h.server("451 4.3.0 try later\r\n"), "QUIT\r\n");
  auto failed = h.all<SessionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].stage, ClientState::Ehlo);
  EXPECT_TRUE(failed[0].transient());
}

TEST(ClientSession, LmtpSaysLhloAndHasNoHeloFallback) {
  ClientOptions o = client_options();
  o.lmtp = true;
  Harness h(o);
  h.connect();
  EXPECT_EQ(h.server("220 localhost LMTP ready\r\n"), "LHLO client.example.net\r\n");
  EXPECT_EQ(h.server("500 5.5.1 unknown command\r\n"), "QUIT\r\n");
  ASSERT_EQ(h.count<SessionFailed>(), 1u);
  EXPECT_EQ(h.all<SessionFailed>()[0].stage, ClientState::Ehlo);
}

TEST(ClientSession, StartTlsThenEhloAgain) {
  Harness h(client_options(TlsPolicy::Opportunistic));
  EXPECT_EQ(h.greet(kPostfixEhlo), "STARTTLS\r\n");
  EXPECT_EQ(h.s.state(), ClientState::StartTls);
  EXPECT_EQ(h.server("220 2.0.0 Ready to start TLS\r\n"), "");
  EXPECT_EQ(h.s.state(), ClientState::TlsHandshake);
  EXPECT_EQ(default_timeout_s(h.s.state()), 300u);
  EXPECT_EQ(h.count<TlsWanted>(), 1u);
  EXPECT_EQ(h.count<SessionReady>(), 0u);
  h.s.on_tls_established();
  EXPECT_EQ(h.pump(), "EHLO client.example.net\r\n");
  EXPECT_EQ(h.s.state(), ClientState::TlsEhlo);
  EXPECT_TRUE(h.s.tls_active());
  EXPECT_FALSE(h.s.capabilities().pipelining);  // RFC 3207 4.2: forgotten until the new EHLO
  EXPECT_EQ(h.server("250-mx.example.org\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n"), "");
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  EXPECT_TRUE(h.s.capabilities().pipelining);
  EXPECT_FALSE(h.s.capabilities().starttls);
}

TEST(ClientSession, StartTlsInjectionEndsTheSession) {
  for (std::string_view injected :
       {"220 2.0.0 Ready\r\n250-fake\r\n250 AUTH PLAIN\r\n", "220 2.0.0 Ready\r\n2"}) {
    Harness h(client_options(TlsPolicy::Opportunistic));
    h.greet(kPostfixEhlo);
    EXPECT_EQ(h.server(injected), "");
    auto failed = h.all<SessionFailed>();
    ASSERT_EQ(failed.size(), 1u) << injected;
    EXPECT_EQ(failed[0].stage, ClientState::StartTls);
    EXPECT_EQ(failed[0].cause, FailureCause::StartTlsInjection);
    EXPECT_EQ(failed[0].reply.enhanced, "4.7.5");
    EXPECT_EQ(h.s.state(), ClientState::Failed);
    EXPECT_EQ(h.count<TlsWanted>(), 0u);  // no handshake for a tampered stream
  }
}

TEST(ClientSession, StartTlsRefusedOpportunisticGoesOnInPlaintext) {
  Harness h(client_options(TlsPolicy::Opportunistic));
  h.greet(kPostfixEhlo);
  EXPECT_EQ(h.server("454 4.7.0 TLS not available due to temporary reason\r\n"), "");
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  EXPECT_FALSE(h.s.tls_active());
  EXPECT_EQ(h.count<SessionFailed>(), 0u);
}

TEST(ClientSession, StartTlsRefusedWhenRequired) {
  Harness h(client_options(TlsPolicy::Required));
  h.greet(kPostfixEhlo);
  EXPECT_EQ(h.server("454 4.7.0 TLS not available due to temporary reason\r\n"), "QUIT\r\n");
  auto failed = h.all<SessionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].stage, ClientState::StartTls);
  EXPECT_EQ(failed[0].cause, FailureCause::TlsFailed);
  EXPECT_EQ(failed[0].reply,
            make_reply(451, "4.7.5",
                       "cannot start TLS: STARTTLS refused: 454 4.7.0 TLS not available due to "
                       "temporary reason"));
  EXPECT_FALSE(failed[0].from_server);
}

// A Cisco ASA masks STARTTLS as XXXXXXXA: with TLS required there is no mail.
TEST(ClientSession, TlsRequiredButNotOffered) {
  Harness h(client_options(TlsPolicy::Required));
  EXPECT_EQ(h.greet("250-mail.example.com\r\n250-PIPELINING\r\n250-XXXXXXXA\r\n250 8BITMIME\r\n"),
            "QUIT\r\n");
  auto failed = h.all<SessionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].stage, ClientState::StartTls);
  EXPECT_EQ(failed[0].cause, FailureCause::TlsNotOffered);
  EXPECT_EQ(failed[0].reply.code, 451);
  EXPECT_EQ(failed[0].reply.enhanced, "4.7.4");
  h.server("221 2.0.0 Bye\r\n");
  EXPECT_EQ(h.s.state(), ClientState::Failed);
}

TEST(ClientSession, TlsHandshakeFailure) {
  Harness h(client_options(TlsPolicy::Opportunistic));
  h.greet(kPostfixEhlo);
  h.server("220 2.0.0 Ready to start TLS\r\n");
  h.s.on_tls_failed();
  EXPECT_EQ(h.pump(), "");  // no plaintext after a STARTTLS 220
  auto failed = h.all<SessionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].stage, ClientState::TlsHandshake);
  EXPECT_EQ(failed[0].cause, FailureCause::TlsFailed);
  EXPECT_EQ(h.s.state(), ClientState::Failed);
}

TEST(ClientSession, ImplicitTlsNeverStartsTls) {
  ClientOptions o = client_options(TlsPolicy::Required);
  o.implicit_tls = true;
  Harness h(o);
  EXPECT_EQ(h.greet(kPostfixEhlo), "");
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  EXPECT_TRUE(h.s.tls_active());
}

namespace {
ClientOptions with_credentials(std::string user, std::string password, std::string token = "") {
  ClientOptions o = client_options();
  o.implicit_tls = true;
  o.credentials = ClientCredentials{std::move(user), std::move(password), std::move(token), "", ""};
  return o;
}
}  // namespace

TEST(ClientSession, AuthPlainPreferredOverLogin) {
  Harness h(with_credentials("user", "pass"));
  EXPECT_EQ(h.greet("250-mx\r\n250-AUTH LOGIN PLAIN\r\n250 PIPELINING\r\n"),
            "AUTH PLAIN AHVzZXIAcGFzcw==\r\n");
  EXPECT_EQ(h.s.state(), ClientState::Auth);
  EXPECT_EQ(h.transcript().back(), "C: AUTH PLAIN ****");
  h.server("235 2.7.0 Authentication successful\r\n");
  EXPECT_TRUE(h.s.authenticated());
  EXPECT_EQ(h.s.state(), ClientState::Ready);
  // AUTH= on MAIL only now (RFC 4954 5).
  OutboundMessage m = message({"kate@fabrikam.com"});
  m.auth = "user@example.com";
  h.s.send_message(m);
  EXPECT_EQ(h.pump(),
            "MAIL FROM:<chris@contoso.com> AUTH=user@example.com\r\n"
            "RCPT TO:<kate@fabrikam.com>\r\nDATA\r\n");
}

TEST(ClientSession, AuthLoginSteps) {
  Harness h(with_credentials("logon", "secret"));
  EXPECT_EQ(h.greet("250-myserver.contoso.com Hello [4.3.2.1]\r\n250 AUTH NTLM LOGIN\r\n"),
            "AUTH LOGIN\r\n");
  EXPECT_EQ(h.server("334 VXNlcm5hbWU6\r\n"), "bG9nb24=\r\n");
  EXPECT_EQ(h.server("334 UGFzc3dvcmQ6\r\n"), "c2VjcmV0\r\n");
  EXPECT_EQ(h.server("235 2.7.0 Authentication successful\r\n"), "");
  EXPECT_TRUE(h.s.authenticated());
  auto t = h.transcript();
  EXPECT_EQ(std::count(t.begin(), t.end(), "C: ****"), 2);  // neither secret in the transcript
}

TEST(ClientSession, NamedMechanismIsTheOnlyOneTried) {
  {  // LOGIN asked for although PLAIN is offered and preferred otherwise
    ClientOptions o = with_credentials("logon", "secret");
    o.credentials->mechanism = "login";
    Harness h(o);
    EXPECT_EQ(h.greet("250-mx\r\n250 AUTH PLAIN LOGIN\r\n"), "AUTH LOGIN\r\n");
    EXPECT_EQ(h.server("334 VXNlcm5hbWU6\r\n"), "bG9nb24=\r\n");
  }
  {  // PLAIN asked for, only LOGIN offered: no fallback
    ClientOptions o = with_credentials("logon", "secret");
    o.credentials->mechanism = "PLAIN";
    Harness h(o);
    EXPECT_EQ(h.greet("250-mx\r\n250 AUTH LOGIN\r\n"), "QUIT\r\n");
    EXPECT_EQ(h.all<SessionFailed>().at(0).cause, FailureCause::AuthUnavailable);
  }
}

TEST(ClientSession, AuthFailureSaysQuit) {
  Harness h(with_credentials("logon", "wrong"));
  h.greet("250-mx\r\n250 AUTH PLAIN\r\n");
  EXPECT_EQ(h.server("535 5.7.8 Authentication unsuccessful\r\n"), "QUIT\r\n");
  auto failed = h.all<SessionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].stage, ClientState::Auth);
  EXPECT_EQ(failed[0].cause, FailureCause::ServerReply);
  EXPECT_EQ(failed[0].reply.code, 535);
}

TEST(ClientSession, UnexpectedChallengeIsCancelled) {
  Harness h(with_credentials("user", "pass"));
  h.greet("250-mx\r\n250 AUTH PLAIN\r\n");
  EXPECT_EQ(h.server("334 \r\n"), "*\r\n");
  EXPECT_EQ(h.server("501 5.0.0 Authentication cancelled\r\n"), "QUIT\r\n");
  EXPECT_EQ(h.all<SessionFailed>().at(0).reply.code, 501);

  Harness stubborn(with_credentials("user", "pass"));  // found by client_session_fuzz
  stubborn.greet("250-mx\r\n250 AUTH PLAIN\r\n");
  EXPECT_EQ(stubborn.server("334 \r\n"), "*\r\n");
  EXPECT_EQ(stubborn.server("334 \r\n"), "");
  EXPECT_EQ(stubborn.count<ProtocolViolation>(), 1u);
  EXPECT_EQ(stubborn.all<SessionFailed>().at(0).cause, FailureCause::UnexpectedReply);
  EXPECT_EQ(stubborn.s.state(), ClientState::Failed);
}

TEST(ClientSession, XOAuth2ErrorChallengeGetsAnEmptyResponse) {
  Harness h(with_credentials("someuser@example.com", "", "ya29.token"));
  std::string first = h.greet("250-smtp.gmail.com\r\n250 AUTH LOGIN PLAIN XOAUTH2\r\n");
  EXPECT_EQ(first.substr(0, 13), "AUTH XOAUTH2 ");
  EXPECT_EQ(h.transcript().back(), "C: AUTH XOAUTH2 ****");
  EXPECT_EQ(h.server("334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIn0=\r\n"), "\r\n");
  EXPECT_EQ(h.server("535 5.7.8 Username and Password not accepted\r\n"), "QUIT\r\n");
}

TEST(ClientSession, AuthUnavailableOrUnsafe) {
  {  // seed 002: NTLM only
    Harness h(with_credentials("user", "pass"));
    EXPECT_EQ(h.greet(kExchangeEhlo), "QUIT\r\n");
    EXPECT_EQ(h.all<SessionFailed>().at(0).cause, FailureCause::AuthUnavailable);
    EXPECT_EQ(h.all<SessionFailed>().at(0).stage, ClientState::Auth);
  }
  {  // a token, but no XOAUTH2: no fallback to a password mechanism
    Harness h(with_credentials("user", "", "token"));
    EXPECT_EQ(h.greet("250-mx\r\n250 AUTH PLAIN LOGIN\r\n"), "QUIT\r\n");
    EXPECT_EQ(h.all<SessionFailed>().at(0).cause, FailureCause::AuthUnavailable);
  }
  {  // no TLS: the password stays home
    ClientOptions o = with_credentials("user", "pass");
    o.implicit_tls = false;
    Harness h(o);
    EXPECT_EQ(h.greet("250-mx\r\n250 AUTH PLAIN\r\n"), "QUIT\r\n");
    EXPECT_EQ(h.all<SessionFailed>().at(0).cause, FailureCause::AuthNeedsTls);
    o.allow_plaintext_auth = true;
    Harness allowed(o);
    EXPECT_EQ(allowed.greet("250-mx\r\n250 AUTH PLAIN\r\n"), "AUTH PLAIN AHVzZXIAcGFzcw==\r\n");
  }
}

TEST(ClientSession, InvalidOptionsFailAtOnce) {
  ClientOptions bad_helo = client_options();
  bad_helo.helo_name = "client.example.net\r\nMAIL FROM:<x@y>";
  Harness h(bad_helo);
  EXPECT_EQ(h.s.state(), ClientState::Failed);
  auto failed = h.all<SessionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].cause, FailureCause::InvalidOptions);
  EXPECT_EQ(failed[0].reply, make_reply(451, "4.3.5",
                                        "invalid client settings: helo_name "
                                        "(forbidden-byte)"));
  EXPECT_EQ(h.server(kBanner), "");  // a failed session sends nothing, ever
  Harness nul(with_credentials(std::string("us\0er", 5), "pass"));
  EXPECT_EQ(nul.all<SessionFailed>().at(0).reply.lines.at(0),
            "invalid client settings: credentials (bad-credentials)");
}

TEST(ClientSession, Reply421AtAnyStageEndsWithoutQuit) {
  Harness h;
  h.connect();
  EXPECT_EQ(h.server("421 4.3.2 mx Service not available, too many connections\r\n"), "");
  EXPECT_EQ(h.s.state(), ClientState::Failed);
  ASSERT_EQ(h.count<SessionFailed>(), 1u);
  EXPECT_TRUE(h.all<SessionFailed>()[0].transient());
  EXPECT_EQ(h.all<SessionFailed>()[0].stage, ClientState::Banner);

  Harness idle;
  idle.greet(kPostfixEhlo);
  EXPECT_EQ(idle.server("421 4.4.2 mx Error: timeout exceeded\r\n"), "");  // unsolicited
  EXPECT_EQ(idle.all<SessionFailed>().at(0).stage, ClientState::Ready);
  EXPECT_EQ(idle.all<SessionFailed>().at(0).cause, FailureCause::ServerReply);
  EXPECT_EQ(idle.count<ProtocolViolation>(), 0u);
  EXPECT_EQ(idle.s.state(), ClientState::Failed);
}

TEST(ClientSession, UnsolicitedReplyIsAProtocolViolation) {
  Harness h;
  h.greet(kPostfixEhlo);
  EXPECT_EQ(h.server("250 surprise\r\n"), "");
  auto v = h.all<ProtocolViolation>();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].stage, ClientState::Ready);
  ASSERT_TRUE(v[0].unexpected);
  EXPECT_EQ(v[0].unexpected->lines.at(0), "surprise");
  auto failed = h.all<SessionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].cause, FailureCause::UnexpectedReply);
  EXPECT_EQ(failed[0].reply.lines.at(0), "unexpected reply in state ready: 250 surprise");
  EXPECT_EQ(h.s.state(), ClientState::Failed);
}

TEST(ClientSession, MalformedReplyAfterAGoodOne) {
  Harness h;
  h.connect();
  // The banner is handled, then the EHLO reply mixes codes.
  EXPECT_EQ(h.server(std::string(kBanner) + "250-mx\r\n550 mixed\r\n"),
            "EHLO client.example.net\r\n");
  auto v = h.all<ProtocolViolation>();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].stage, ClientState::Ehlo);
  ASSERT_TRUE(v[0].malformed);
  EXPECT_EQ(v[0].malformed->kind, ReplyError::MixedCodes);
  auto failed = h.all<SessionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].cause, FailureCause::MalformedReply);
  EXPECT_EQ(failed[0].reply.lines.at(0),
            "malformed reply in state ehlo: line 3: reply code 550 inside a 250 reply: \"550 "
            "mixed\"");
  EXPECT_EQ(h.s.state(), ClientState::Failed);
}

TEST(ClientSession, ConnectionLostOrTimeoutWhileIdleOrQuitting) {
  Harness idle;
  idle.greet(kPostfixEhlo);
  idle.s.on_connection_lost(ConnectionEnd::Timeout);
  idle.pump();
  auto failed = idle.all<SessionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].cause, FailureCause::Timeout);
  EXPECT_EQ(failed[0].reply, make_reply(421, "4.4.2", "timeout waiting for server in state ready"));
  EXPECT_EQ(idle.s.state(), ClientState::Failed);

  Harness quitting;
  quitting.greet(kPostfixEhlo);
  EXPECT_FALSE(quitting.s.quit() && quitting.s.quit());  // only once
  quitting.s.on_connection_lost();
  quitting.pump();
  EXPECT_EQ(quitting.s.state(), ClientState::Done);  // QUIT sent: closing is the answer
  EXPECT_EQ(quitting.count<SessionFailed>(), 0u);
}

TEST(ClientSession, QuitOnlyWhenReady) {
  Harness h;
  EXPECT_FALSE(h.s.quit());
  h.connect();
  EXPECT_FALSE(h.s.quit());
  h.server(kBanner);
  EXPECT_FALSE(h.s.quit());  // waiting for EHLO
  EXPECT_EQ(h.pump(), "");
}
