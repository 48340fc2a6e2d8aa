#include "smtp/line_buffer.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace mailroom::smtp;

namespace {
std::vector<LineBuffer::Line> drain(LineBuffer& lb) {
  std::vector<LineBuffer::Line> out;
  while (auto line = lb.next_line()) out.push_back(*line);
  return out;
}
}  // namespace

TEST(LineBuffer, SplitsCrlfAndBareLfLines) {
  LineBuffer lb(100);
  lb.append("EHLO a\r\nNOOP\nQUIT\r\n");
  auto lines = drain(lb);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].text, "EHLO a");
  EXPECT_EQ(lines[1].text, "NOOP");
  EXPECT_EQ(lines[2].text, "QUIT");
  for (auto& l : lines) EXPECT_FALSE(l.too_long);
  EXPECT_EQ(lb.buffered(), 0u);
}

TEST(LineBuffer, WaitsForTheNewline) {
  LineBuffer lb(100);
  lb.append("EHL");
  EXPECT_FALSE(lb.next_line());
  lb.append("O a\r");
  EXPECT_FALSE(lb.next_line());
  EXPECT_EQ(lb.buffered(), 7u);
  lb.append("\n");
  auto line = lb.next_line();
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "EHLO a");
}

TEST(LineBuffer, OneByteAtATime) {
  const std::string input = "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n\r\nDATA\r\n";
  LineBuffer lb(100);
  std::vector<std::string> got;
  for (char c : input) {
    lb.append(std::string_view(&c, 1));
    while (auto line = lb.next_line()) got.push_back(line->text);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"MAIL FROM:<a@b>", "RCPT TO:<c@d>", "", "DATA"}));
}

TEST(LineBuffer, OnlyTheFinalCrIsStripped) {
  LineBuffer lb(100);
  lb.append("A\r\r\nB\rC\n");
  auto lines = drain(lb);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "A\r");
  EXPECT_EQ(lines[1].text, "B\rC");
}

TEST(LineBuffer, LineOfExactlyMaxIsAccepted) {
  LineBuffer lb(10);
  lb.append(std::string(10, 'x') + "\r");  // max + 1 octets held while the LF is pending
  EXPECT_FALSE(lb.next_line());
  lb.append("\n");
  auto line = lb.next_line();
  ASSERT_TRUE(line);
  EXPECT_FALSE(line->too_long);
  EXPECT_EQ(line->text, std::string(10, 'x'));
}

TEST(LineBuffer, OverlongLineIsReportedOnceAndMemoryStaysBounded) {
  LineBuffer lb(10);
  lb.append("0123456789abc");
  EXPECT_FALSE(lb.next_line());
  for (int i = 0; i < 1000; ++i) lb.append(std::string(1000, 'z'));
  EXPECT_LE(lb.buffered(), 11u);
  EXPECT_FALSE(lb.next_line());
  lb.append("zz\r\nNOOP\r\n");
  auto line = lb.next_line();
  ASSERT_TRUE(line);
  EXPECT_TRUE(line->too_long);
  EXPECT_EQ(line->text, "0123456789");
  line = lb.next_line();
  ASSERT_TRUE(line);
  EXPECT_FALSE(line->too_long);
  EXPECT_EQ(line->text, "NOOP");
  EXPECT_FALSE(lb.next_line());
}

TEST(LineBuffer, OverlongCompleteLineInOneChunk) {
  LineBuffer lb(4);
  lb.append("HELLO WORLD\r\nQUIT\r\n");
  auto lines = drain(lb);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0].too_long);
  EXPECT_EQ(lines[0].text, "HELL");
  EXPECT_FALSE(lines[1].too_long);
  EXPECT_EQ(lines[1].text, "QUIT");
}

TEST(LineBuffer, OverlongLineEndingInCrIsStillTooLong) {
  LineBuffer lb(4);
  lb.append("abcd\r\r");  // six octets of content before any LF: too long whatever follows
  EXPECT_FALSE(lb.next_line());
  lb.append("\n");
  auto line = lb.next_line();
  ASSERT_TRUE(line);
  EXPECT_TRUE(line->too_long);
  EXPECT_EQ(line->text, "abcd");
}

TEST(LineBuffer, BytesAfterACompleteLineAreNotTruncated) {
  // BDAT: the chunk follows the command in the same read and has no newline.
  LineBuffer lb(16);
  const std::string chunk(5000, 'b');
  lb.append("BDAT 5000 LAST\r\n" + chunk);
  auto line = lb.next_line();
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "BDAT 5000 LAST");
  EXPECT_EQ(lb.buffered(), chunk.size());
  EXPECT_EQ(lb.take_buffered(), chunk);
  EXPECT_EQ(lb.buffered(), 0u);
}

TEST(LineBuffer, TakeBufferedReturnsRawBytes) {
  LineBuffer lb(100);
  lb.append("DATA\r\nSubject: x\n\r\n.\r\nQUIT\r\n");
  ASSERT_EQ(lb.next_line()->text, "DATA");
  EXPECT_EQ(lb.take_buffered(), "Subject: x\n\r\n.\r\nQUIT\r\n");
  EXPECT_FALSE(lb.next_line());
  lb.append("NOOP\r\n");
  EXPECT_EQ(lb.next_line()->text, "NOOP");
}

TEST(LineBuffer, ClearDropsPipelinedInput) {
  LineBuffer lb(100);
  lb.append("STARTTLS\r\nMAIL FROM:<evil@x>\r\n");
  ASSERT_EQ(lb.next_line()->text, "STARTTLS");
  lb.clear();
  EXPECT_EQ(lb.buffered(), 0u);
  EXPECT_FALSE(lb.next_line());
  lb.append("EHLO x\r\n");
  EXPECT_EQ(lb.next_line()->text, "EHLO x");
}

TEST(LineBuffer, ClearEndsDiscarding) {
  LineBuffer lb(4);
  lb.append("0123456789");
  EXPECT_FALSE(lb.next_line());
  lb.clear();
  lb.append("QUIT\r\n");
  auto line = lb.next_line();
  ASSERT_TRUE(line);
  EXPECT_FALSE(line->too_long);
  EXPECT_EQ(line->text, "QUIT");
}

TEST(LineBuffer, ManyShortLinesDoNotAccumulateAfterConsumption) {
  LineBuffer lb(100);
  for (int i = 0; i < 10000; ++i) {
    lb.append("NOOP\r\n");
    ASSERT_TRUE(lb.next_line());
    EXPECT_EQ(lb.buffered(), 0u);
  }
}
