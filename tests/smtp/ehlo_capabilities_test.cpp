#include "smtp/ehlo_capabilities.hpp"

#include <gtest/gtest.h>

#include "smtp/ehlo_keywords.hpp"
#include "smtp/reply_parser.hpp"

using namespace mailroom::smtp;

namespace {

EhloCapabilities parse_wire(std::string_view wire) {
  ReplyParser p;
  p.feed(wire);
  auto r = p.next();
  EXPECT_TRUE(r) << wire;
  EXPECT_FALSE(p.error()) << wire;
  return r ? parse_ehlo_reply(r->reply) : EhloCapabilities{};
}

}  // namespace

// The Exchange 2016 reply of seed 002 ("Use Telnet to test SMTP communication on Exchange").
TEST(EhloCapabilities, ExchangeSeedTranscript) {
  auto caps = parse_wire(
      "250-mail1.fabrikam.com Hello [172.16.0.5]\r\n"
      "250-SIZE 37748736\r\n"
      "250-PIPELINING\r\n"
      "250-DSN\r\n"
      "250-ENHANCEDSTATUSCODES\r\n"
      "250-STARTTLS\r\n"
      "250-X-ANONYMOUSTLS\r\n"
      "250-AUTH NTLM\r\n"
      "250-X-EXPS GSSAPI NTLM\r\n"
      "250-8BITMIME\r\n"
      "250-BINARYMIME\r\n"
      "250-CHUNKING\r\n"
      "250 XRDST\r\n");
  EhloCapabilities want;
  want.greeting_domain = "mail1.fabrikam.com";
  want.greeting_text = "Hello [172.16.0.5]";
  want.size = 37748736;
  want.pipelining = want.dsn = want.enhanced_status_codes = want.starttls = true;
  want.auth = true;
  want.auth_mechanisms = {"NTLM"};
  want.eight_bit_mime = want.binary_mime = want.chunking = true;
  want.unknown = {"X-ANONYMOUSTLS", "X-EXPS GSSAPI NTLM", "XRDST"};
  EXPECT_EQ(caps, want);
  EXPECT_FALSE(caps.smtputf8);
  EXPECT_TRUE(caps.offers_auth("ntlm"));
  EXPECT_FALSE(caps.offers_auth("PLAIN"));
}

// Seed 003: "SIZE" without a number (no fixed limit) and AUTH NTLM LOGIN.
TEST(EhloCapabilities, SizeWithoutLimit) {
  auto caps = parse_wire(
      "250-myserver.contoso.com Hello [4.3.2.1]\r\n250-SIZE\r\n250-PIPELINING\r\n"
      "250-AUTH NTLM LOGIN\r\n250 CHUNKING\r\n");
  EXPECT_EQ(caps.size, 0u);
  EXPECT_EQ(caps.auth_mechanisms, (std::vector<std::string>{"NTLM", "LOGIN"}));
  EXPECT_TRUE(caps.chunking);
  EXPECT_TRUE(caps.unknown.empty());
  EXPECT_EQ(parse_wire("250-h\r\n250 SIZE 0\r\n").size, 0u);
}

// Seed 004 (bigfish.com): "AUTH" with no mechanism listed.
TEST(EhloCapabilities, AuthWithoutMechanisms) {
  auto caps = parse_wire(
      "250-TX2EHSMHS026.bigfish.com Hello [202.173.145.153]\r\n"
      "250-SIZE 157286400\r\n250-AUTH\r\n250 CHUNKING\r\n");
  EXPECT_TRUE(caps.auth);
  EXPECT_TRUE(caps.auth_mechanisms.empty());
  EXPECT_EQ(caps.size, 157286400u);
  EXPECT_EQ(caps.greeting_domain, "TX2EHSMHS026.bigfish.com");
}

TEST(EhloCapabilities, PostfixReplyKeepsVrfyAndEtrnAsUnknown) {
  auto caps = parse_wire(
      "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
      "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
      "250 CHUNKING\r\n");
  EXPECT_EQ(caps.greeting_domain, "mx.example.org");
  EXPECT_EQ(caps.greeting_text, "");
  EXPECT_EQ(caps.size, 10240000u);
  EXPECT_TRUE(caps.smtputf8);
  EXPECT_FALSE(caps.binary_mime);
  EXPECT_FALSE(caps.auth);
  EXPECT_EQ(caps.unknown, (std::vector<std::string>{"VRFY", "ETRN"}));
}

TEST(EhloCapabilities, LegacyAuthEqualsMergedWithoutDuplicates) {
  auto caps = parse_wire("250-h\r\n250-AUTH LOGIN PLAIN\r\n250 AUTH=LOGIN PLAIN CRAM-MD5\r\n");
  EXPECT_EQ(caps.auth_mechanisms, (std::vector<std::string>{"LOGIN", "PLAIN", "CRAM-MD5"}));
  EXPECT_TRUE(caps.unknown.empty());
  caps = parse_wire("250-h\r\n250 auth=login\r\n");
  EXPECT_EQ(caps.auth_mechanisms, std::vector<std::string>{"LOGIN"});
  // Tokens that are not SASL mechanism names are dropped, the rest kept.
  caps = parse_wire("250-h\r\n250 AUTH PLAIN b@d TOO-LONG-FOR-A-MECHANISM-NAME xoauth2\r\n");
  EXPECT_EQ(caps.auth_mechanisms, (std::vector<std::string>{"PLAIN", "XOAUTH2"}));
}

TEST(EhloCapabilities, KeywordsAreCaseInsensitive) {
  auto caps = parse_wire(
      "250-h\r\n250-size 1000\r\n250-pipelining\r\n250-StartTLS\r\n250-auth plain\r\n"
      "250-8bitmime\r\n250-Chunking\r\n250-binaryMIME\r\n250-smtputf8\r\n250-dsn\r\n"
      "250 enhancedstatuscodes\r\n");
  EXPECT_EQ(caps.size, 1000u);
  EXPECT_TRUE(caps.pipelining && caps.starttls && caps.eight_bit_mime && caps.chunking &&
              caps.binary_mime && caps.smtputf8 && caps.dsn && caps.enhanced_status_codes);
  EXPECT_EQ(caps.auth_mechanisms, std::vector<std::string>{"PLAIN"});
  EXPECT_TRUE(caps.unknown.empty());
}

TEST(EhloCapabilities, MalformedSizeIsNotTrusted) {
  for (std::string_view line :
       {"SIZE abc", "SIZE 1 2", "SIZE -1", "SIZE 99999999999999999999999", "SIZE 1e6"}) {
    auto caps = parse_ehlo_reply(Reply{250, "", {"h", std::string(line)}});
    EXPECT_FALSE(caps.size) << line;
    EXPECT_EQ(caps.unknown, std::vector<std::string>{std::string(line)}) << line;
  }
}

// A Cisco ASA "inspect esmtp" masks STARTTLS as XXXXXXXA: TLS is then rightly not offered.
TEST(EhloCapabilities, CiscoMaskedKeywords) {
  auto caps = parse_wire(
      "250-mail.example.com Hello [192.0.2.7]\r\n250-SIZE 20480000\r\n250-PIPELINING\r\n"
      "250-XXXXXXXA\r\n250-8BITMIME\r\n250 XXXB\r\n");
  EXPECT_FALSE(caps.starttls);
  EXPECT_TRUE(caps.pipelining);
  EXPECT_EQ(caps.unknown, (std::vector<std::string>{"XXXXXXXA", "XXXB"}));
}

TEST(EhloCapabilities, NonPositiveOrEmptyRepliesOfferNothing) {
  EXPECT_EQ(parse_ehlo_reply(make_reply(500, "5.5.1", "Command unrecognized")), EhloCapabilities{});
  EXPECT_EQ(parse_ehlo_reply(Reply{250, "", {}}), EhloCapabilities{});
  auto helo = parse_ehlo_reply(make_reply(250, "", "server.example.com Hello [192.168.217.64]"));
  EXPECT_EQ(helo.greeting_domain, "server.example.com");
  EXPECT_EQ(helo.greeting_text, "Hello [192.168.217.64]");
  EXPECT_FALSE(helo.size);
}

// The other direction of ehlo_keywords: what mailroom announces reads back as announced.
TEST(EhloCapabilities, RoundTripWithEhloKeywords) {
  for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{37748736}}) {
    for (bool starttls : {false, true}) {
      for (bool auth : {false, true}) {
        Capabilities announced{size, starttls, auth};
        std::string wire =
            replies::ehlo("mx.example.test", "192.0.2.1", ehlo_keywords(announced)).wire();
        auto caps = parse_wire(wire);
        Capabilities back{caps.size.value_or(99), caps.starttls,
                          caps.auth_mechanisms == std::vector<std::string>{"PLAIN", "LOGIN"}};
        EXPECT_EQ(back.max_size, announced.max_size) << wire;
        EXPECT_EQ(back.starttls, announced.starttls) << wire;
        EXPECT_EQ(back.auth, announced.auth) << wire;
        EXPECT_EQ(caps.auth, auth) << wire;
        EXPECT_EQ(caps.greeting_domain, "mx.example.test");
        EXPECT_TRUE(caps.pipelining && caps.dsn && caps.enhanced_status_codes &&
                    caps.eight_bit_mime && caps.binary_mime && caps.chunking && caps.smtputf8);
        EXPECT_TRUE(caps.unknown.empty()) << wire;
      }
    }
  }
}
