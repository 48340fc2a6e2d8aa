#include "smtp/reply_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace mailroom::smtp;

namespace {

std::vector<ReceivedReply> drain(ReplyParser& p) {
  std::vector<ReceivedReply> out;
  while (auto r = p.next()) out.push_back(std::move(*r));
  return out;
}

std::vector<ReceivedReply> parse_all(std::string_view in, ReplyLimits limits = {}) {
  ReplyParser p(limits);
  p.feed(in);
  return drain(p);
}

ReplyParseError error_of(std::string_view in, ReplyLimits limits = {}) {
  ReplyParser p(limits);
  p.feed(in);
  EXPECT_TRUE(p.error().has_value()) << testing::PrintToString(std::string(in));
  return p.error().value_or(ReplyParseError{});
}

// A Postfix 3.7 EHLO reply with its default extensions.
constexpr std::string_view kPostfixEhlo =
    "250-mx.example.org\r\n"
    "250-PIPELINING\r\n"
    "250-SIZE 10240000\r\n"
    "250-VRFY\r\n"
    "250-ETRN\r\n"
    "250-STARTTLS\r\n"
    "250-ENHANCEDSTATUSCODES\r\n"
    "250-8BITMIME\r\n"
    "250-DSN\r\n"
    "250-SMTPUTF8\r\n"
    "250 CHUNKING\r\n";

}  // namespace

TEST(ReplyParser, SingleLineWithEnhancedCode) {
  auto replies = parse_all("250 2.1.0 Sender OK\r\n");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].reply, make_reply(250, "2.1.0", "Sender OK"));
  EXPECT_EQ(replies[0].raw_lines, std::vector<std::string>{"250 2.1.0 Sender OK"});
}

TEST(ReplyParser, InverseOfWireForEveryFixedReply) {
  std::vector<Reply> all = {
      replies::greeting("mx.example.test", "mailroom ESMTP", "Fri, 5 Aug 2016 16:24:41 -0700"),
      replies::ehlo("mx.example.test", "192.0.2.1", {"SIZE 1000", "PIPELINING", "8BITMIME"}),
      replies::hello("mx.example.test", "192.0.2.1"),
      replies::sender_ok(),
      replies::user_unknown(),
      replies::start_mail_input(),
      replies::queued("c89b4fcc-3ad1@mx"),
      replies::closing(),
      replies::help(),
      replies::too_many_errors(),
      replies::auth_username_prompt(),
      replies::auth_empty_challenge(),
      replies::auth_needs_encryption(),
      replies::bdat_received(986),
      Reply{250, "2.0.0", {"first", "", "last"}},
      Reply{554, "5.7.1", {""}},
  };
  for (const Reply& r : all) {
    auto parsed = parse_all(r.wire());
    ASSERT_EQ(parsed.size(), 1u) << r.wire();
    EXPECT_EQ(parsed[0].reply, r) << r.wire();
  }
}

TEST(ReplyParser, PostfixEhloReply) {
  auto replies = parse_all(kPostfixEhlo);
  ASSERT_EQ(replies.size(), 1u);
  const Reply& r = replies[0].reply;
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.enhanced, "");
  ASSERT_EQ(r.lines.size(), 11u);
  EXPECT_EQ(r.lines[0], "mx.example.org");
  EXPECT_EQ(r.lines[2], "SIZE 10240000");
  EXPECT_EQ(r.lines[10], "CHUNKING");
  EXPECT_EQ(replies[0].raw_lines[10], "250 CHUNKING");
}

TEST(ReplyParser, SameResultForEverySplit) {
  std::string stream = std::string(kPostfixEhlo) +
                       "250 2.1.0 Sender OK\r\n"
                       "550-5.1.1 The email account that you tried to reach does not exist.\n"
                       "550 5.1.1 Please try again.\r\n"
                       "354 Start mail input; end with <CRLF>.<CRLF>\r\n"
                       "250 2.6.0 <c89b4fcc@mail1.fabrikam.com> Queued mail for delivery\r\n";
  auto whole = parse_all(stream);
  ASSERT_EQ(whole.size(), 5u);
  EXPECT_EQ(
      whole[2].reply,
      (Reply{550,
             "5.1.1",
             {"The email account that you tried to reach does not exist.", "Please try again."}}));
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    ReplyParser p;
    p.feed(stream.substr(0, cut));
    p.feed(stream.substr(cut));
    auto split = drain(p);
    ASSERT_EQ(split.size(), whole.size()) << cut;
    for (std::size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(split[i].reply, whole[i].reply) << cut;
      EXPECT_EQ(split[i].raw_lines, whole[i].raw_lines) << cut;
    }
  }
  ReplyParser bytewise;
  for (char c : stream) bytewise.feed(std::string_view(&c, 1));
  EXPECT_EQ(bytewise.ready(), whole.size());
  EXPECT_EQ(bytewise.bare_lf_lines(), 1u);
}

TEST(ReplyParser, BareLfToleratedAndCounted) {
  ReplyParser p;
  p.feed("250-a\n250 b\n");
  auto r = drain(p);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].reply.lines, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.bare_lf_lines(), 2u);
}

TEST(ReplyParser, CodeAloneAndEmptyContinuation) {
  auto r = parse_all("250-\r\n250\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].reply, (Reply{250, "", {"", ""}}));
}

TEST(ReplyParser, EnhancedCodeOnlyWhenClassMatches) {
  EXPECT_EQ(parse_all("550 4.1.1 nope\r\n")[0].reply, make_reply(550, "", "4.1.1 nope"));
  EXPECT_EQ(parse_all("250 2.0.0\r\n")[0].reply, make_reply(250, "2.0.0", ""));
  EXPECT_EQ(parse_all("250 2.0.0x ok\r\n")[0].reply, make_reply(250, "", "2.0.0x ok"));
  EXPECT_EQ(parse_all("250 2.1234.0 ok\r\n")[0].reply, make_reply(250, "", "2.1234.0 ok"));
  EXPECT_EQ(parse_all("452 4.5.3 Too many\r\n")[0].reply, make_reply(452, "4.5.3", "Too many"));
  EXPECT_EQ(parse_all("354 2.0.0 go\r\n")[0].reply, make_reply(354, "", "2.0.0 go"));
  // Continuation lines lose the code only when they carry the same one.
  EXPECT_EQ(parse_all("550-5.7.1 a\r\n550 b\r\n")[0].reply, (Reply{550, "5.7.1", {"a", "b"}}));
  EXPECT_EQ(parse_all("550-5.7.1 a\r\n550 5.7.2 b\r\n")[0].reply,
            (Reply{550, "5.7.1", {"a", "5.7.2 b"}}));
}

TEST(ReplyParser, ControlCharactersMaskedRawKept) {
  std::string in("250 a\0b\rc\td\x1b\xc3\xa9\r\n", 16);
  auto r = parse_all(in);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].reply.lines, std::vector<std::string>{"a?b?c\td?\xc3\xa9"});
  EXPECT_EQ(r[0].raw_lines, std::vector<std::string>{in.substr(0, 14)});
}

TEST(ReplyParser, QueuesRepliesNobodyAskedFor) {
  ReplyParser p;
  p.feed("250 ok\r\n221 bye\r\n250-part");
  EXPECT_EQ(p.ready(), 2u);
  EXPECT_TRUE(p.mid_reply());
  EXPECT_TRUE(p.holds_input());
  EXPECT_EQ(p.next()->reply.code, 250);
  EXPECT_EQ(p.next()->reply.code, 221);
  EXPECT_EQ(p.ready(), 0u);
  p.feed("ial\r\n");
  EXPECT_TRUE(p.mid_reply());  // a multi-line reply has begun
  EXPECT_FALSE(p.next());
  p.feed("250 end\r\n");
  EXPECT_FALSE(p.mid_reply());
  EXPECT_EQ(p.next()->reply.lines, (std::vector<std::string>{"partial", "end"}));
  EXPECT_FALSE(p.holds_input());
}

TEST(ReplyParser, ClearForgetsEverythingHeld) {
  ReplyParser p;
  p.feed("220 go ahead\r\n250-injected\r\n25");
  p.clear();
  EXPECT_FALSE(p.holds_input());
  p.feed("250 fresh\r\n");
  auto r = drain(p);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].reply.lines.front(), "fresh");
}

TEST(ReplyParser, LineTooLongFoundBeforeItsEnd) {
  ReplyLimits limits{16, 8};
  EXPECT_EQ(parse_all("250 123456789012\r\n", limits).size(), 1u);  // exactly 16
  ReplyParser p(limits);
  p.feed("250 1234567890123");  // 17 octets may be 16 and the CR of a CRLF
  EXPECT_FALSE(p.error());
  p.feed("4");  // 18 cannot
  ASSERT_TRUE(p.error());
  EXPECT_EQ(p.error()->kind, ReplyError::LineTooLong);
  EXPECT_EQ(p.error()->line_number, 1u);
  EXPECT_EQ(p.error()->reply_code, 0);
  EXPECT_FALSE(p.mid_reply());  // nothing of the line is kept
}

TEST(ReplyParser, LineTooLongWithBareLfAndAfterGoodLines) {
  ReplyLimits limits{16, 8};
  // 16 octets + bare LF is fine; 17 octets + bare LF is not (the CR allowance is for a CR).
  EXPECT_EQ(parse_all("250 123456789012\n", limits).size(), 1u);
  auto e = error_of("250-ok\r\n250 1234567890123\n", limits);
  EXPECT_EQ(e.kind, ReplyError::LineTooLong);
  EXPECT_EQ(e.line_number, 2u);
  EXPECT_EQ(e.reply_code, 250);
  EXPECT_EQ(e.excerpt, "250 1234567890123");
}

TEST(ReplyParser, TooManyLines) {
  auto e = error_of("250-a\r\n250-b\r\n250-c\r\n250 d\r\n", ReplyLimits{100, 3});
  EXPECT_EQ(e.kind, ReplyError::TooManyLines);
  EXPECT_EQ(e.line_number, 4u);
  EXPECT_EQ(e.reply_code, 250);
  EXPECT_EQ(e.message(), "line 4: too many lines in a 250 reply: \"250 d\"");
  EXPECT_EQ(parse_all("250-a\r\n250-b\r\n250 c\r\n", ReplyLimits{100, 3}).size(), 1u);
}

TEST(ReplyParser, BadCodes) {
  for (std::string_view bad : {"hello\r\n", "25\r\n", "\r\n", "2x0 ok\r\n", "199 info\r\n",
                               "600 what\r\n", "099 x\r\n", " 250 x\r\n", "XXXXXXXA\r\n"}) {
    auto e = error_of(bad);
    EXPECT_EQ(e.kind, ReplyError::BadCode) << bad;
    EXPECT_EQ(e.line_number, 1u) << bad;
    EXPECT_EQ(e.reply_code, 0) << bad;
  }
  // Inside a multi-line reply the code in progress is reported.
  auto e = error_of("250-ok\r\nmore text\r\n");
  EXPECT_EQ(e.kind, ReplyError::BadCode);
  EXPECT_EQ(e.line_number, 2u);
  EXPECT_EQ(e.reply_code, 250);
}

TEST(ReplyParser, BadSeparators) {
  for (std::string_view bad : {"250:ok\r\n", "250\tok\r\n", "2500 ok\r\n", "250=ok\r\n"}) {
    EXPECT_EQ(error_of(bad).kind, ReplyError::BadSeparator) << bad;
  }
}

TEST(ReplyParser, MixedCodesSayWhat) {
  auto e = error_of("250-first\r\n550 second\r\n");
  EXPECT_EQ(e.kind, ReplyError::MixedCodes);
  EXPECT_EQ(e.line_number, 2u);
  EXPECT_EQ(e.reply_code, 250);
  EXPECT_EQ(e.message(), "line 2: reply code 550 inside a 250 reply: \"550 second\"");
  EXPECT_EQ(reply_error_name(e.kind), "mixed-codes");
}

TEST(ReplyParser, ErrorIsStickyButEarlierRepliesAreKept) {
  ReplyParser p;
  p.feed("250 ok\r\nGARBAGE\r\n250 later\r\n");
  ASSERT_TRUE(p.error());
  EXPECT_EQ(p.error()->kind, ReplyError::BadCode);
  EXPECT_EQ(p.error()->line_number, 2u);
  EXPECT_EQ(p.error()->excerpt, "GARBAGE");
  auto r = drain(p);
  ASSERT_EQ(r.size(), 1u);  // "250 later" is never taken for a reply
  EXPECT_EQ(r[0].reply.lines.front(), "ok");
  p.feed("250 more\r\n");
  EXPECT_EQ(p.ready(), 0u);
  EXPECT_FALSE(p.mid_reply());
}

TEST(ReplyParser, ExcerptIsShortAndClean) {
  ReplyParser p(ReplyLimits{1000, 8});
  p.feed(std::string("\x01\x02") + std::string(300, 'z') + "\r\n");
  ASSERT_TRUE(p.error());
  EXPECT_EQ(p.error()->excerpt, "??" + std::string(78, 'z'));
}
