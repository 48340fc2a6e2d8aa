#include "smtp/client_commands.hpp"

#include <gtest/gtest.h>

#include "smtp/auth.hpp"
#include "smtp/command.hpp"

using namespace mailroom::smtp;

namespace {

// What the server side makes of a line the client built (without its CRLF).
Command reparse(const CommandLine& line) {
  EXPECT_TRUE(line.ok());
  EXPECT_GE(line.wire.size(), 2u);
  EXPECT_EQ(line.wire.substr(line.wire.size() - 2), "\r\n");
  std::string_view text(line.wire.data(), line.wire.size() - 2);
  EXPECT_FALSE(contains_forbidden_bytes(text)) << line.wire;
  return parse_command(text);
}

}  // namespace

TEST(ClientCommands, Hello) {
  EXPECT_EQ(ehlo_command("contoso.com").wire, "EHLO contoso.com\r\n");
  EXPECT_EQ(helo_command("[192.0.2.1]").wire, "HELO [192.0.2.1]\r\n");
  EXPECT_EQ(lhlo_command("mx.example.test").wire, "LHLO mx.example.test\r\n");
  EXPECT_EQ(ehlo_command("contoso.com\r\nRCPT TO:<x@y>").error, CommandError::ForbiddenByte);
  EXPECT_EQ(ehlo_command("a b").error, CommandError::BadDomain);
  EXPECT_EQ(ehlo_command("").error, CommandError::BadDomain);
  EXPECT_EQ(ehlo_command("").wire, "");
}

TEST(ClientCommands, MailWithEveryParameter) {
  MailParams p;
  p.sender = "chris@contoso.com";
  p.size = 1234;
  p.body = BodyType::EightBitMime;
  p.ret = "hdrs";
  p.envid = "QQ314159 a+b=c";
  p.smtputf8 = true;
  p.auth = "chris+x@contoso.com";
  auto line = mail_command(p);
  EXPECT_EQ(line.wire,
            "MAIL FROM:<chris@contoso.com> SIZE=1234 BODY=8BITMIME RET=HDRS "
            "ENVID=QQ314159+20a+2Bb+3Dc SMTPUTF8 AUTH=chris+2Bx@contoso.com\r\n");
  // The server's parser reads back exactly what was meant.
  auto back = parse_mail_args(reparse(line).args);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value->sender.str(), "chris@contoso.com");
  EXPECT_EQ(back.value->size, 1234u);
  EXPECT_EQ(back.value->body, BodyType::EightBitMime);
  EXPECT_EQ(back.value->ret, "HDRS");
  EXPECT_EQ(back.value->envid, "QQ314159 a+b=c");
  EXPECT_TRUE(back.value->smtputf8);
  EXPECT_EQ(back.value->auth, "chris+x@contoso.com");
}

TEST(ClientCommands, MailMinimalAndNullSender) {
  EXPECT_EQ(mail_command(MailParams{}).wire, "MAIL FROM:<>\r\n");
  MailParams p;
  p.sender = "a@b.example";
  p.body = BodyType::BinaryMime;
  p.auth = "";
  EXPECT_EQ(mail_command(p).wire, "MAIL FROM:<a@b.example> BODY=BINARYMIME AUTH=<>\r\n");
  p.body = BodyType::SevenBit;
  p.auth.reset();
  EXPECT_EQ(mail_command(p).wire, "MAIL FROM:<a@b.example> BODY=7BIT\r\n");
}

TEST(ClientCommands, MailRefusesInjection) {
  auto with_sender = [](std::string s) {
    MailParams p;
    p.sender = std::move(s);
    return mail_command(p).error;
  };
  EXPECT_EQ(with_sender("a@b\r\nRCPT TO:<victim@x>"), CommandError::ForbiddenByte);
  EXPECT_EQ(with_sender(std::string("a@b\0c", 5)), CommandError::ForbiddenByte);
  EXPECT_EQ(with_sender("a@b> SIZE=1"), CommandError::BadAddress);  // would add a parameter
  EXPECT_EQ(with_sender("a@b>"), CommandError::BadAddress);
  EXPECT_EQ(with_sender("no-domain"), CommandError::BadAddress);
  std::string long_path(64, 'a');  // built with append: GCC 12 -O2 warns falsely on operator+
  long_path.append("@").append(190, 'b').append(".com");
  EXPECT_EQ(with_sender(long_path), CommandError::BadAddress);  // path > 256 with brackets
  EXPECT_EQ(with_sender("\"john doe\"@example.com"), CommandError::None);

  MailParams p;
  p.sender = "a@b.example";
  p.envid = "x\r\nDATA";
  EXPECT_EQ(mail_command(p).error, CommandError::ForbiddenByte);
  p.envid = std::string(101, 'x');
  EXPECT_EQ(mail_command(p).error, CommandError::BadParameter);
  p.envid = std::string(34, '+');  // 102 octets as xtext
  EXPECT_EQ(mail_command(p).error, CommandError::BadParameter);
  p.envid = "caf\xc3\xa9";  // RFC 3461 4.4: printable ASCII only
  EXPECT_EQ(mail_command(p).error, CommandError::BadParameter);
  p.envid = "";
  p.ret = "ALL";
  EXPECT_EQ(mail_command(p).error, CommandError::BadParameter);
  p.ret = "FULL\n";
  EXPECT_EQ(mail_command(p).error, CommandError::ForbiddenByte);
  p.ret = "";
  p.auth = "x\ry";
  EXPECT_EQ(mail_command(p).error, CommandError::ForbiddenByte);
  EXPECT_EQ(mail_command(p).wire, "");
}

TEST(ClientCommands, RcptWithDsn) {
  RcptParams p{"kate@fabrikam.com", kNotifySuccess | kNotifyFailure, "rfc822;Kate+1@fabrikam.com"};
  auto line = rcpt_command(p);
  EXPECT_EQ(line.wire,
            "RCPT TO:<kate@fabrikam.com> NOTIFY=SUCCESS,FAILURE "
            "ORCPT=rfc822;Kate+2B1@fabrikam.com\r\n");
  auto back = parse_rcpt_args(reparse(line).args, false);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value->recipient.str(), "kate@fabrikam.com");
  EXPECT_EQ(back.value->notify, kNotifySuccess | kNotifyFailure);
  EXPECT_EQ(back.value->orcpt, "rfc822;Kate+1@fabrikam.com");

  EXPECT_EQ(rcpt_command({"a@b.example", kNotifyNever, ""}).wire,
            "RCPT TO:<a@b.example> NOTIFY=NEVER\r\n");
  EXPECT_EQ(rcpt_command({"a@b.example", kNotifyDelay | kNotifySuccess, ""}).wire,
            "RCPT TO:<a@b.example> NOTIFY=SUCCESS,DELAY\r\n");
  EXPECT_EQ(rcpt_command({"Postmaster", 0, ""}).wire, "RCPT TO:<Postmaster>\r\n");
}

TEST(ClientCommands, RcptRefusals) {
  EXPECT_EQ(rcpt_command({"", 0, ""}).error, CommandError::BadAddress);
  EXPECT_EQ(rcpt_command({"a@b\n", 0, ""}).error, CommandError::ForbiddenByte);
  EXPECT_EQ(rcpt_command({"a@b.example> NOTIFY=NEVER", 0, ""}).error, CommandError::BadAddress);
  EXPECT_EQ(rcpt_command({"a@b.example", kNotifyNever | kNotifySuccess, ""}).error,
            CommandError::BadParameter);
  EXPECT_EQ(rcpt_command({"a@b.example", 16, ""}).error, CommandError::BadParameter);
  EXPECT_EQ(rcpt_command({"a@b.example", 0, "a@b.example"}).error, CommandError::BadParameter);
  EXPECT_EQ(rcpt_command({"a@b.example", 0, ";a@b.example"}).error, CommandError::BadParameter);
  EXPECT_EQ(rcpt_command({"a@b.example", 0, "rfc822;"}).error, CommandError::BadParameter);
  EXPECT_EQ(rcpt_command({"a@b.example", 0, "rfc 822;a@b"}).error, CommandError::BadParameter);
  EXPECT_EQ(rcpt_command({"a@b.example", 0, "rfc822;a@b\r\nQUIT"}).error,
            CommandError::ForbiddenByte);
  EXPECT_EQ(rcpt_command({"a@b.example", 0, "rfc822;" + std::string(494, 'x')}).error,
            CommandError::BadParameter);  // 501 octets
  EXPECT_EQ(rcpt_command({"a@b.example", 0, "rfc822;" + std::string(493, 'x')}).error,
            CommandError::None);
}

TEST(ClientCommands, Bdat) {
  EXPECT_EQ(bdat_command(986, true), "BDAT 986 LAST\r\n");
  EXPECT_EQ(bdat_command(0, false), "BDAT 0\r\n");
  EXPECT_EQ(bdat_command(18446744073709551615u, false), "BDAT 18446744073709551615\r\n");
}

TEST(ClientCommands, AuthPlain) {
  auto line = auth_plain_command("", "user", "pass");
  EXPECT_EQ(line.wire, "AUTH PLAIN AHVzZXIAcGFzcw==\r\n");
  auto args = parse_auth_args(reparse(line).args);
  ASSERT_TRUE(args.ok());
  auto decoded = base64_decode(*args.value->initial_response);
  ASSERT_TRUE(decoded);
  auto creds = parse_auth_plain(*decoded);
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->authcid, "user");
  EXPECT_EQ(creds->password, "pass");
  // A NUL would move the field boundary: authcid "user" could log in as someone else.
  EXPECT_EQ(auth_plain_command("", std::string("us\0er", 5), "p").error,
            CommandError::BadCredentials);
  EXPECT_EQ(auth_plain_command("", "user", "").error, CommandError::BadCredentials);
  EXPECT_EQ(auth_plain_command("", "", "p").error, CommandError::BadCredentials);
  EXPECT_EQ(auth_plain_command("", "user", std::string(256, 'p')).error,
            CommandError::BadCredentials);
  // Any other octet is fine: it travels base64-encoded.
  EXPECT_TRUE(auth_plain_command("", "user", "p\r\nQUIT").ok());
  EXPECT_EQ(auth_plain_command("", "user", "p\r\nQUIT").wire.find('\n'),
            auth_plain_command("", "user", "p\r\nQUIT").wire.size() - 1);
}

TEST(ClientCommands, AuthLoginSteps) {
  EXPECT_EQ(kAuthLoginCommand, "AUTH LOGIN\r\n");
  EXPECT_EQ(auth_response("logon"), "bG9nb24=\r\n");
  EXPECT_EQ(auth_response(""), "\r\n");
  EXPECT_EQ(kAuthCancel, "*\r\n");
}

TEST(ClientCommands, XOAuth2) {
  auto line =
      xoauth2_command("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
  ASSERT_TRUE(line.ok());
  const std::string prefix = "AUTH XOAUTH2 ";
  ASSERT_EQ(line.wire.compare(0, prefix.size(), prefix), 0);
  auto decoded =
      base64_decode(line.wire.substr(prefix.size(), line.wire.size() - prefix.size() - 2));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded,
            "user=someuser@example.com\x01"
            "auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
            "\x01\x01");
  EXPECT_EQ(xoauth2_command("a\x01"
                            "auth=Bearer x",
                            "t")
                .error,
            CommandError::BadCredentials);
  EXPECT_EQ(xoauth2_command("a", "").error, CommandError::BadCredentials);
}

TEST(ClientCommands, ErrorNames) {
  EXPECT_EQ(command_error_name(CommandError::ForbiddenByte), "forbidden-byte");
  EXPECT_EQ(command_error_name(CommandError::BadCredentials), "bad-credentials");
}
