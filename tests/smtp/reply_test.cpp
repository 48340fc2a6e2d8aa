// The reply table against the seed documents' wording, and the wire format of replies
// (RFC 5321 4.2: "code-text" continuation lines, "code text" on the last; RFC 2034 enhanced codes
// on every line).
#include "smtp/reply.hpp"

#include <gtest/gtest.h>

namespace mailroom::smtp {
namespace {

TEST(Reply, SeedRepliesAreWordForWord) {
  // Each line is quoted in ../shared/seeds (000-004); changing a text breaks the contract.
  EXPECT_EQ(replies::sender_ok().wire(), "250 2.1.0 Sender OK\r\n");
  EXPECT_EQ(replies::recipient_ok().wire(), "250 2.1.5 Recipient OK\r\n");
  EXPECT_EQ(replies::unable_to_relay().wire(), "550 5.7.1 Unable to relay\r\n");
  EXPECT_EQ(replies::start_mail_input().wire(), "354 Start mail input; end with <CRLF>.<CRLF>\r\n");
  EXPECT_EQ(replies::closing().wire(), "221 2.0.0 Service closing transmission channel\r\n");
  EXPECT_EQ(replies::resetting().wire(), "250 2.0.0 Resetting\r\n");
  EXPECT_EQ(replies::ok().wire(), "250 2.0.0 OK\r\n");
  EXPECT_EQ(replies::cannot_vrfy().wire(), "252 2.1.5 Cannot VRFY user\r\n");
  EXPECT_EQ(replies::unrecognized_command().wire(), "500 5.3.3 Unrecognized command\r\n");
  EXPECT_EQ(replies::invalid_arguments().wire(), "501 5.5.4 Invalid arguments\r\n");
  EXPECT_EQ(replies::unrecognized_parameter().wire(), "501 5.5.4 Unrecognized parameter\r\n");
  EXPECT_EQ(replies::send_hello_first().wire(), "503 5.5.2 Send hello first\r\n");
  EXPECT_EQ(replies::need_mail().wire(), "503 5.5.2 Need mail command\r\n");
  EXPECT_EQ(replies::need_rcpt().wire(), "503 5.5.2 Need rcpt command\r\n");
  EXPECT_EQ(replies::not_authenticated().wire(), "530 5.7.1 Client was not authenticated\r\n");
  EXPECT_EQ(replies::auth_username_prompt().wire(), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(replies::auth_password_prompt().wire(), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(replies::too_many_errors().wire(),
            "421 4.7.0 Too many errors on this connection, closing transmission channel\r\n");
  EXPECT_EQ(replies::queued("abc@mx.example.test").wire(),
            "250 2.6.0 <abc@mx.example.test> Queued mail for delivery\r\n");
  EXPECT_EQ(replies::greeting("mx.example.test", "mailroom ESMTP MAIL Service",
                              "Fri, 5 Aug 2016 16:24:41 -0700")
                .wire(),
            "220 mx.example.test mailroom ESMTP MAIL Service ready at Fri, 5 Aug 2016 16:24:41 "
            "-0700\r\n");
  EXPECT_EQ(replies::hello("mx.example.test", "192.168.217.64").wire(),
            "250 mx.example.test Hello [192.168.217.64]\r\n");
}

TEST(Reply, MultiLineRepliesContinueWithDashAndEndWithSpace) {
  auto r = replies::ehlo("mx.example.test", "127.0.0.1", {"SIZE 10", "PIPELINING", "CHUNKING"});
  EXPECT_EQ(r.wire(),
            "250-mx.example.test Hello [127.0.0.1]\r\n250-SIZE 10\r\n250-PIPELINING\r\n"
            "250 CHUNKING\r\n");
  Reply enhanced{451, "4.3.0", {"first", "second"}};
  EXPECT_EQ(enhanced.wire(), "451-4.3.0 first\r\n451 4.3.0 second\r\n");
  EXPECT_EQ(enhanced.summary(), "451 4.3.0 first");
}

TEST(Reply, ClassesAndClosingCodes) {
  EXPECT_TRUE(replies::ok().positive());
  EXPECT_TRUE(replies::start_mail_input().positive());
  EXPECT_TRUE(replies::too_many_recipients().transient());
  EXPECT_TRUE(replies::user_unknown().permanent());
  EXPECT_TRUE(replies::too_many_errors().closes());
  EXPECT_TRUE(replies::closing().closes());
  EXPECT_FALSE(replies::local_error().closes());
  // RFC 5321 3.8: a server that closes the connection says 421; RFC 3463 classes the enhanced
  // code with the reply (4.x.x), and X.5.4/X.5.2 are "useful only as a permanent error".
  EXPECT_TRUE(replies::bdat_syntax_closing().closes());
  EXPECT_EQ(replies::bdat_syntax_closing().enhanced, "4.5.0");
}

// RFC 5321 4.3.2: after end-of-data only 250, 450-452 and 550-554 are valid replies; the
// command-line "500 5.5.2 Line too long" was sent there for an over-long message line.
TEST(Reply, RefusalsAfterEndOfDataUseCodesValidThere) {
  for (const auto& r :
       {replies::data_line_too_long(), replies::bare_newline(), replies::message_too_big(),
        replies::insufficient_storage(), replies::local_error()}) {
    EXPECT_TRUE((r.code >= 450 && r.code <= 452) || (r.code >= 550 && r.code <= 554)) << r.wire();
  }
  EXPECT_EQ(replies::data_line_too_long().wire(),
            "554 5.6.0 Message rejected: text line too long\r\n");
}

TEST(Reply, SanitizeTextNeverLetsALineBreakThrough) {
  EXPECT_EQ(sanitize_text("a\r\nRCPT TO:<x>\0b"), "a??RCPT TO:<x>");
  EXPECT_EQ(sanitize_text(std::string("a\0b", 3)), "a?b");
  EXPECT_EQ(sanitize_text("\x1b[31mred\x7f"), "?[31mred?");
  EXPECT_EQ(sanitize_text(std::string(300, 'x'), 10), std::string(10, 'x'));
  EXPECT_EQ(sanitize_text("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 is text, not control
}

}  // namespace
}  // namespace mailroom::smtp
