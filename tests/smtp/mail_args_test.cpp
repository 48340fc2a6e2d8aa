#include "smtp/mail_args.hpp"

#include <gtest/gtest.h>

using namespace mailroom::smtp;

namespace {

MailArgs mail_ok(std::string_view args) {
  auto r = parse_mail_args(args);
  EXPECT_TRUE(r.ok()) << args << " -> " << r.error.summary();
  return r.value.value_or(MailArgs{});
}

RcptArgs rcpt_ok(std::string_view args, bool smtputf8 = false) {
  auto r = parse_rcpt_args(args, smtputf8);
  EXPECT_TRUE(r.ok()) << args << " -> " << r.error.summary();
  return r.value.value_or(RcptArgs{});
}

Reply mail_error(std::string_view args) {
  auto r = parse_mail_args(args);
  EXPECT_FALSE(r.ok()) << args;
  return r.error;
}

Reply rcpt_error(std::string_view args, bool smtputf8 = false) {
  auto r = parse_rcpt_args(args, smtputf8);
  EXPECT_FALSE(r.ok()) << args;
  return r.error;
}

// Compares code and enhanced code: the reply a client sees.
void expect_reply(const Reply& got, const Reply& want, std::string_view context) {
  EXPECT_EQ(got.code, want.code) << context;
  EXPECT_EQ(got.enhanced, want.enhanced) << context;
}

}  // namespace

TEST(MailArgs, SeedForms) {
  EXPECT_EQ(mail_ok("FROM: <chris@contoso.com>").sender.str(), "chris@contoso.com");
  EXPECT_EQ(mail_ok("FROM:<chris@contoso.com>").sender.str(), "chris@contoso.com");
  EXPECT_EQ(mail_ok("FROM:chris@contoso.com").sender.str(), "chris@contoso.com");
  EXPECT_EQ(mail_ok("from:elvis@graceland.com").sender.str(), "elvis@graceland.com");
  EXPECT_EQ(mail_ok("FROM: someone@alternatecontoso.com").sender.str(),
            "someone@alternatecontoso.com");
  EXPECT_EQ(mail_ok("from: paul@exchangeserverpro.com").sender.local_part, "paul");
  EXPECT_EQ(mail_ok("FROM:Admin@test.com").sender.local_part, "Admin");
}

TEST(MailArgs, NullReversePath) {
  MailArgs m = mail_ok("FROM:<>");
  EXPECT_TRUE(m.sender.is_null);
  EXPECT_EQ(m.sender.str(), "");
  EXPECT_TRUE(mail_ok("FROM:<> SIZE=100").sender.is_null);
}

TEST(MailArgs, SourceRouteIsStripped) {
  MailArgs m = mail_ok("FROM:<@x.org,@y.org:a@b.org>");
  EXPECT_EQ(m.sender.str(), "a@b.org");
  EXPECT_EQ(mail_ok("FROM:<@x.org:a@b.org>").sender.str(), "a@b.org");
  expect_reply(mail_error("FROM:<@x.org,a@b.org>"), replies::invalid_address(), "no colon");
  expect_reply(mail_error("FROM:<@x..org:a@b.org>"), replies::invalid_address(), "bad route");
  expect_reply(mail_error("FROM:<@:a@b.org>"), replies::invalid_address(), "empty route");
  expect_reply(mail_error("FROM:<@x.org,:a@b.org>"), replies::invalid_address(), "empty hop");
}

TEST(MailArgs, QuotedAndLiteralSenders) {
  MailArgs m = mail_ok("FROM:<\"john doe\"@b.org> SIZE=5");
  EXPECT_EQ(m.sender.local_part, "john doe");
  EXPECT_EQ(m.size, 5u);
  EXPECT_EQ(mail_ok("FROM:<\"a>b\"@b.org>").sender.local_part, "a>b");
  EXPECT_EQ(mail_ok("FROM:\"john doe\"@b.org BODY=8BITMIME").sender.local_part, "john doe");
  EXPECT_EQ(mail_ok("FROM:<\"x\\\"> y\"@b.org>").sender.local_part, "x\"> y");
  EXPECT_EQ(mail_ok("FROM:<a@[192.0.2.1]>").sender.domain, "[192.0.2.1]");
  EXPECT_EQ(mail_ok("FROM:<a@[IPv6:2001:db8::1]>").sender.domain, "[IPv6:2001:db8::1]");
  EXPECT_EQ(mail_ok("FROM:<a@Example.ORG.>").sender.domain, "example.org");
}

TEST(MailArgs, Parameters) {
  MailArgs m = mail_ok(
      "FROM:<a@b.org> size=1000 BODY=8bitmime RET=hdrs ENVID=QQ+2B314 SMTPUTF8 AUTH=a+2Bb@c.org");
  EXPECT_EQ(m.size, 1000u);
  EXPECT_EQ(m.body, BodyType::EightBitMime);
  EXPECT_EQ(m.ret, "HDRS");
  EXPECT_EQ(m.envid, "QQ+314");
  EXPECT_TRUE(m.smtputf8);
  EXPECT_EQ(m.auth, "a+b@c.org");

  EXPECT_EQ(mail_ok("FROM:<a@b.org> BODY=7BIT").body, BodyType::SevenBit);
  EXPECT_EQ(mail_ok("FROM:<a@b.org> BODY=BINARYMIME").body, BodyType::BinaryMime);
  EXPECT_EQ(mail_ok("FROM:<a@b.org>").body, BodyType::Unspecified);
  EXPECT_FALSE(mail_ok("FROM:<a@b.org>").size.has_value());
  EXPECT_EQ(mail_ok("FROM:<a@b.org> SIZE=0").size, 0u);
  EXPECT_EQ(mail_ok("FROM:<a@b.org> SIZE=18446744073709551615").size, 18446744073709551615u);
  EXPECT_EQ(mail_ok("FROM:<a@b.org> AUTH=<>").auth, "<>");
  EXPECT_EQ(mail_ok("FROM:<a@b.org> RET=FULL").ret, "FULL");
  EXPECT_EQ(mail_ok("FROM:<a@b.org>   SIZE=1    BODY=7BIT").size, 1u);
}

TEST(MailArgs, MissingPrefixOrPath) {
  for (const char* bad : {"", "<a@b.org>", "FROM", "FROM:", "FROM:   ", "TO:<a@b.org>",
                          "FROM <a@b.org>", "FRO:<a@b.org>"}) {
    expect_reply(mail_error(bad), replies::invalid_arguments(), bad);
  }
}

TEST(MailArgs, BadSenderSyntax) {
  for (const char* bad : {"FROM:<a@b.org", "FROM:<a b@c.org>", "FROM:<a@b.org>junk", "FROM:<a>",
                          "FROM:a", "FROM:<@b.org>", "FROM:<a@>", "FROM:<<a@b.org>>",
                          "FROM:<a@b..org>", "FROM:\"unterminated@b.org", "FROM:<Postmaster>",
                          "FROM:<a@[300.1.1.1]>", "FROM:<a@b.org>>"}) {
    expect_reply(mail_error(bad), replies::invalid_address(), bad);
  }
}

TEST(MailArgs, LengthLimits) {
  expect_reply(mail_error("FROM:<" + std::string(65, 'a') + "@b.org>"), replies::invalid_address(),
               "local part 65");
  std::string label(60, 'x');
  std::string long_domain = label + "." + label + "." + label + "." + label + ".org";  // 248
  EXPECT_TRUE(parse_mail_args("FROM:<a@" + long_domain + ">").ok());
  // 64 + 1 + 248 + 2 > 256: each part within its limit, the path is not.
  expect_reply(mail_error("FROM:<" + std::string(64, 'a') + "@" + long_domain + ">"),
               replies::invalid_address(), "path");
  expect_reply(mail_error("FROM:" + std::string(64, 'a') + "@" + long_domain),
               replies::invalid_address(), "unbracketed path");
}

TEST(MailArgs, Smtputf8) {
  expect_reply(mail_error("FROM:<j\xc3\xb6rg@b.org>"), replies::smtputf8_required(), "no param");
  MailArgs m = mail_ok("FROM:<j\xc3\xb6rg@b\xc3\xbc.org> SMTPUTF8");
  EXPECT_TRUE(m.sender.utf8);
  EXPECT_EQ(m.sender.domain, "b\xc3\xbc.org");
  expect_reply(mail_error("FROM:<j\xc3rg@b.org> SMTPUTF8"), replies::invalid_address(), "bad utf8");
  EXPECT_FALSE(mail_ok("FROM:<a@b.org> SMTPUTF8").sender.utf8);
}

TEST(MailArgs, ParameterErrors) {
  const Reply bad = replies::unrecognized_parameter();
  for (const char* args : {"FROM:<a@b.org> FOO=1",
                           "FROM:<a@b.org> NOTIFY=NEVER",
                           "FROM:<a@b.org> =1",
                           "FROM:<a@b.org> -X=1",
                           "FROM:<a@b.org> SIZE=1 SIZE=2",
                           "FROM:<a@b.org> SIZE=abc",
                           "FROM:<a@b.org> SIZE=",
                           "FROM:<a@b.org> SIZE",
                           "FROM:<a@b.org> SIZE=-1",
                           "FROM:<a@b.org> SIZE=+1",
                           "FROM:<a@b.org> SIZE=18446744073709551616",
                           "FROM:<a@b.org> SIZE=000000000000000000001",
                           "FROM:<a@b.org> BODY=foo",
                           "FROM:<a@b.org> BODY=8BITMIME BODY=7BIT",
                           "FROM:<a@b.org> RET=x",
                           "FROM:<a@b.org> RET=FULL RET=HDRS",
                           "FROM:<a@b.org> ENVID=a+2",
                           "FROM:<a@b.org> ENVID=a+ZZ",
                           "FROM:<a@b.org> ENVID=a+0D+0A",
                           "FROM:<a@b.org> ENVID",
                           "FROM:<a@b.org> SMTPUTF8=yes",
                           "FROM:<a@b.org> SMTPUTF8 SMTPUTF8",
                           "FROM:<a@b.org> AUTH=a+00b",
                           "FROM:<a@b.org> AUTH",
                           "FROM:<a@b.org> AUTH=x AUTH=y",
                           "FROM:<a@b.org> SIZE==1",
                           "FROM:<a@b.org> SIZE=1=2",
                           "FROM:<a@b.org> BODY=8BITMIME\x01",
                           "FROM:<a@b.org> ENVID=caf\xc3\xa9"}) {
    Reply r = mail_error(args);
    expect_reply(r, bad, args);
  }
  EXPECT_TRUE(parse_mail_args("FROM:<a@b.org> ENVID=" + std::string(100, 'x')).ok());
  expect_reply(mail_error("FROM:<a@b.org> ENVID=" + std::string(101, 'x')), bad, "long envid");
}

TEST(RcptArgs, SeedForms) {
  RcptArgs r = rcpt_ok("TO:<kate@fabrikam.com> NOTIFY=success,failure");
  EXPECT_EQ(r.recipient.str(), "kate@fabrikam.com");
  EXPECT_EQ(r.notify, kNotifySuccess | kNotifyFailure);
  EXPECT_EQ(rcpt_ok("TO: <kate@fabrikam.com> NOTIFY=success,failure").notify,
            kNotifySuccess | kNotifyFailure);
  EXPECT_EQ(rcpt_ok("TO:kate@fabrikam.com NOTIFY=success,failure").recipient.domain,
            "fabrikam.com");
  EXPECT_EQ(rcpt_ok("TO: postmaster@contoso.com").recipient.str(), "postmaster@contoso.com");
  EXPECT_EQ(rcpt_ok("TO: User@Domain.Com").recipient.str(), "User@domain.com");
  EXPECT_EQ(rcpt_ok("TO:User@Site.Domain.Com notify=success,failure").notify, 6u);
  EXPECT_EQ(rcpt_ok("to:ed@example.com").recipient.local_part, "ed");
  EXPECT_EQ(rcpt_ok("TO:<a@b.org>").notify, 0u);
}

TEST(RcptArgs, Postmaster) {
  RcptArgs r = rcpt_ok("TO:<Postmaster>");
  EXPECT_EQ(r.recipient.local_part, "Postmaster");
  EXPECT_EQ(r.recipient.domain, "");
  EXPECT_EQ(r.recipient.str(), "Postmaster");
  EXPECT_EQ(rcpt_ok("TO:<postmaster>").recipient.local_part, "postmaster");
  EXPECT_EQ(rcpt_ok("TO:POSTMASTER").recipient.local_part, "POSTMASTER");
  expect_reply(rcpt_error("TO:<postmistress>"), replies::invalid_recipient_syntax(), "not pm");
}

TEST(RcptArgs, Notify) {
  EXPECT_EQ(rcpt_ok("TO:<a@b.org> NOTIFY=NEVER").notify, kNotifyNever);
  EXPECT_EQ(rcpt_ok("TO:<a@b.org> NOTIFY=DELAY").notify, kNotifyDelay);
  EXPECT_EQ(rcpt_ok("TO:<a@b.org> NOTIFY=delay,Failure,SUCCESS").notify,
            kNotifyDelay | kNotifyFailure | kNotifySuccess);
  for (const char* bad : {"TO:<a@b.org> NOTIFY=NEVER,SUCCESS", "TO:<a@b.org> NOTIFY=SUCCESS,NEVER",
                          "TO:<a@b.org> NOTIFY=", "TO:<a@b.org> NOTIFY", "TO:<a@b.org> NOTIFY=,",
                          "TO:<a@b.org> NOTIFY=SUCCESS,", "TO:<a@b.org> NOTIFY=SUCCESS,SUCCESS",
                          "TO:<a@b.org> NOTIFY=ALWAYS", "TO:<a@b.org> NOTIFY=NEVER NOTIFY=DELAY"}) {
    expect_reply(rcpt_error(bad), replies::unrecognized_parameter(), bad);
  }
}

TEST(RcptArgs, Orcpt) {
  EXPECT_EQ(rcpt_ok("TO:<a@b.org> ORCPT=rfc822;a+2Bx@b.org").orcpt, "rfc822;a+x@b.org");
  EXPECT_EQ(rcpt_ok("TO:<a@b.org> ORCPT=RFC822;a@b.org NOTIFY=FAILURE").orcpt, "rfc822;a@b.org");
  for (const char* bad :
       {"TO:<a@b.org> ORCPT=a@b.org", "TO:<a@b.org> ORCPT=;a@b.org", "TO:<a@b.org> ORCPT=rfc822;",
        "TO:<a@b.org> ORCPT=rfc822;a+0Ab", "TO:<a@b.org> ORCPT=rfc822;a+G0", "TO:<a@b.org> ORCPT",
        "TO:<a@b.org> ORCPT=rfc822;a ORCPT=rfc822;b", "TO:<a@b.org> ORCPT=r.c;a"}) {
    expect_reply(rcpt_error(bad), replies::unrecognized_parameter(), bad);
  }
  expect_reply(rcpt_error("TO:<a@b.org> ORCPT=rfc822;" + std::string(500, 'x')),
               replies::unrecognized_parameter(), "long orcpt");
}

TEST(RcptArgs, Errors) {
  for (const char* bad : {"", "TO", "TO:", "FROM:<a@b.org>", "<a@b.org>", "T0:<a@b.org>"}) {
    expect_reply(rcpt_error(bad), replies::invalid_arguments(), bad);
  }
  for (const char* bad : {"TO:<>", "TO:<a@b.org", "TO:<a>", "TO:<a@b@c>", "TO:<a@b.org>x",
                          "TO:<a..b@c.org>", "TO:<a@-c.org>"}) {
    expect_reply(rcpt_error(bad), replies::invalid_recipient_syntax(), bad);
  }
  expect_reply(rcpt_error("TO:<" + std::string(65, 'a') + "@b.org>"),
               replies::invalid_recipient_syntax(), "too long");
  expect_reply(rcpt_error("TO:<a@b.org> SIZE=10"), replies::unrecognized_parameter(), "mail param");
}

TEST(RcptArgs, RelayTricksSurviveParsing) {
  EXPECT_EQ(rcpt_ok("TO:<user%other.org@example.test>").recipient.local_part, "user%other.org");
  EXPECT_EQ(rcpt_ok("TO:<other.org!user@example.test>").recipient.local_part, "other.org!user");
  RcptArgs quoted = rcpt_ok("TO:<\"user@other.org\"@example.test>");
  EXPECT_EQ(quoted.recipient.local_part, "user@other.org");
  EXPECT_EQ(quoted.recipient.domain, "example.test");
  EXPECT_EQ(rcpt_ok("TO:<@other.org:user@example.test>").recipient.domain, "example.test");
}

TEST(RcptArgs, Smtputf8) {
  expect_reply(rcpt_error("TO:<\xc3\xa9@b.org>", false), replies::smtputf8_required(),
               "no tx flag");
  EXPECT_TRUE(rcpt_ok("TO:<\xc3\xa9@b.org>", true).recipient.utf8);
  EXPECT_FALSE(rcpt_ok("TO:<a@b.org>", true).recipient.utf8);
}

TEST(Xtext, DecodeAndEncode) {
  EXPECT_EQ(xtext_decode(""), "");
  EXPECT_EQ(xtext_decode("abc"), "abc");
  EXPECT_EQ(xtext_decode("a+2Bb+3Dc+20"), "a+b=c ");
  EXPECT_EQ(xtext_decode("+2b"), "+");  // lowercase hex tolerated
  EXPECT_FALSE(xtext_decode("a+"));
  EXPECT_FALSE(xtext_decode("a+2"));
  EXPECT_FALSE(xtext_decode("a+G1"));
  EXPECT_FALSE(xtext_decode("a=b"));
  EXPECT_FALSE(xtext_decode("a b"));
  EXPECT_FALSE(xtext_decode("\xc3\xa9"));
  EXPECT_EQ(xtext_encode("a+b=c d\x01\xff"), "a+2Bb+3Dc+20d+01+FF");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(xtext_decode(xtext_encode(all)), all);
}
