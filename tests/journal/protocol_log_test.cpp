#include "journal/protocol_log.hpp"

#include <gtest/gtest.h>

namespace mailroom::journal {
namespace {

TEST(ProtocolLogEscape, ControlBytesAndBackslashAreEscaped) {
  EXPECT_EQ(escape_bytes("MAIL FROM:<a@b>"), "MAIL FROM:<a@b>");
  EXPECT_EQ(escape_bytes("a\r\nb"), "a\\x0d\\x0ab");
  EXPECT_EQ(escape_bytes(std::string("x\0y", 3)), "x\\x00y");
  EXPECT_EQ(escape_bytes("\x1b[31m"), "\\x1b[31m");
  EXPECT_EQ(escape_bytes("back\\slash"), "back\\\\slash");
  EXPECT_EQ(escape_bytes("caf\xc3\xa9"), "caf\\xc3\\xa9");
}

TEST(ProtocolLogCsv, FieldsWithCommasOrQuotesAreQuoted) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field(" lead"), "\" lead\"");
}

TEST(ProtocolLogRedact, AuthKeepsOnlyVerbAndMechanism) {
  EXPECT_EQ(redact_command("AUTH PLAIN AGFsaWNlAHNlY3JldA=="), "AUTH PLAIN <secret>");
  EXPECT_EQ(redact_command("auth login YWxpY2U="), "auth login <secret>");
  EXPECT_EQ(redact_command("AUTH XOAUTH2 dXNlcj1h"), "AUTH XOAUTH2 <secret>");
  EXPECT_EQ(redact_command("AUTH   PLAIN   x"), "AUTH   PLAIN <secret>");
  EXPECT_EQ(redact_command("AUTH PLAIN"), "AUTH PLAIN");
  EXPECT_EQ(redact_command("AUTH LOGIN "), "AUTH LOGIN ");
  EXPECT_EQ(redact_command("AUTHX PLAIN abc"), "AUTHX PLAIN abc");
  EXPECT_EQ(redact_command("MAIL FROM:<a@b> AUTH=<>"), "MAIL FROM:<a@b> AUTH=<>");
}

TEST(ProtocolLogLine, HasEveryFieldInOrder) {
  ProtocolEvent e;
  e.unix_ms = 1796043901123;  // 2026-11-30T13:05:01.123Z
  e.connector = "inbound";
  e.session = "abc00001";
  e.sequence = 7;
  e.local = "127.0.0.1:25";
  e.remote = "[::1]:40000";
  e.event = '<';
  e.data = "RCPT TO:<a,b@x>\r\n";
  EXPECT_EQ(format_protocol_line(e),
            "2026-11-30T13:05:01.123Z,inbound,abc00001,7,127.0.0.1:25,[::1]:40000,<,"
            "\"RCPT TO:<a,b@x>\\x0d\\x0a\"\n");
}

TEST(ProtocolLogTrace, DisabledTraceDoesNothing) {
  ProtocolTrace t;
  EXPECT_FALSE(t.enabled());
  t.connect();
  t.sent("250 ok\r\n");
  t.received_secret(12);
}

TEST(ProtocolLogEndpoint, V6IsBracketed) {
  EXPECT_EQ(endpoint_text("127.0.0.1", 25), "127.0.0.1:25");
  EXPECT_EQ(endpoint_text("::1", 2525), "[::1]:2525");
}

}  // namespace
}  // namespace mailroom::journal

namespace mailroom::journal {
namespace {

TEST(ProtocolLogTime, MillisecondsAcrossSecondsAndDays) {
  EXPECT_EQ(iso_time_ms(1796043901123), "2026-11-30T13:05:01.123Z");
  EXPECT_EQ(iso_time_ms(1796043901005), "2026-11-30T13:05:01.005Z");
  EXPECT_EQ(iso_time_ms(1796043902000), "2026-11-30T13:05:02.000Z");
  EXPECT_EQ(iso_time_ms(1796083199999), "2026-11-30T23:59:59.999Z");
  EXPECT_EQ(iso_time_ms(1796083200000), "2026-12-01T00:00:00.000Z");
}

}  // namespace
}  // namespace mailroom::journal
