#include "smtp/data_reader.hpp"

#include <gtest/gtest.h>

using namespace mailroom::smtp;

namespace {

constexpr DataLimits kRoomy{1 << 20, 998};

struct Result {
  std::string content;
  std::size_t consumed = 0;
  bool done = false, too_big = false, bare = false, long_line = false;
  std::uint64_t size = 0;
  bool operator==(const Result&) const = default;
};

Result read_all(std::string_view in, DataLimits limits = kRoomy) {
  DataReader r(limits);
  Result res;
  res.consumed = r.feed(in, res.content);
  res.done = r.done();
  res.too_big = r.too_big();
  res.bare = r.bare_newline();
  res.long_line = r.line_too_long();
  res.size = r.size();
  return res;
}

Result read_bytewise(std::string_view in, DataLimits limits = kRoomy) {
  DataReader r(limits);
  Result res;
  for (std::size_t i = 0; i < in.size(); ++i) {
    std::size_t n = r.feed(in.substr(i, 1), res.content);
    res.consumed += n;
    if (n == 0) break;
  }
  res.done = r.done();
  res.too_big = r.too_big();
  res.bare = r.bare_newline();
  res.long_line = r.line_too_long();
  res.size = r.size();
  return res;
}

}  // namespace

TEST(DataReader, SimpleMessage) {
  std::string in = "Subject: Test\r\n\r\nThis is a test message\r\n.\r\nQUIT\r\n";
  Result r = read_all(in);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.content, "Subject: Test\r\n\r\nThis is a test message\r\n");
  EXPECT_EQ(r.consumed, in.size() - 6);  // "QUIT\r\n" is left for the session
  EXPECT_FALSE(r.bare);
  EXPECT_FALSE(r.too_big);
  EXPECT_EQ(r.size, r.content.size());
}

TEST(DataReader, EmptyMessage) {
  Result r = read_all(".\r\nNOOP\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.content, "");
  EXPECT_EQ(r.consumed, 3u);
}

TEST(DataReader, DotUnstuffing) {
  Result r = read_all("..hidden\r\n...\r\n. \r\nmid.dle\r\n..\r\n.\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.content, ".hidden\r\n..\r\n \r\nmid.dle\r\n.\r\n");
}

TEST(DataReader, NotDoneWithoutTerminator) {
  Result r = read_all("line\r\n.");
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.consumed, 7u);
  r = read_all("line\r\n.\r");
  EXPECT_FALSE(r.done);
}

TEST(DataReader, SmugglingPatternsNeverEndData) {
  for (const char* evil :
       {"a\n.\nMAIL FROM:<x@y>\r\n", "a\r.\rMAIL FROM:<x@y>\r\n", "a\r\n.\nMAIL FROM:<x@y>\r\n",
        "a\n.\r\nMAIL FROM:<x@y>\r\n", "a\r.\r\nMAIL FROM:<x@y>\r\n", "a\r\n.\rMAIL\r\n", "\n.\n",
        "\r.\r", ".\n", ".\rX", "\n.\r\n"}) {
    Result r = read_all(evil);
    EXPECT_FALSE(r.done) << testing::PrintToString(std::string(evil));
    EXPECT_TRUE(r.bare) << testing::PrintToString(std::string(evil));
    EXPECT_EQ(r.consumed, std::string_view(evil).size());
    // After the smuggling attempt the real terminator still ends the data.
    DataReader reader(kRoomy);
    std::string out;
    std::string full = std::string(evil) + "\r\n.\r\n";
    EXPECT_EQ(reader.feed(full, out), full.size());
    EXPECT_TRUE(reader.done());
    EXPECT_TRUE(reader.bare_newline());
  }
}

TEST(DataReader, BareNewlinesAreFlaggedAnywhere) {
  EXPECT_TRUE(read_all("a\nb\r\n.\r\n").bare);
  EXPECT_TRUE(read_all("a\rb\r\n.\r\n").bare);
  EXPECT_TRUE(read_all("a\r\r\n.\r\n").bare);
  EXPECT_TRUE(read_all("\n\r\n.\r\n").bare);
  EXPECT_FALSE(read_all("a\r\nb\r\n.\r\n").bare);
}

TEST(DataReader, SizeLimit) {
  DataLimits small{10, 998};
  std::string in = "0123456789ABCDEF\r\n.\r\nQUIT\r\n";
  Result r = read_all(in, small);
  EXPECT_TRUE(r.done);
  EXPECT_TRUE(r.too_big);
  EXPECT_EQ(r.content, "0123456789");
  EXPECT_EQ(r.size, 18u);
  EXPECT_EQ(r.consumed, in.size() - 6);
  EXPECT_FALSE(read_all("0123456789\r\n.\r\n", DataLimits{12, 998}).too_big);
  EXPECT_TRUE(read_all("0123456789\r\n.\r\n", DataLimits{11, 998}).too_big);
}

TEST(DataReader, LineLengthLimit) {
  DataLimits limits{1 << 20, 10};
  EXPECT_FALSE(read_all("0123456789\r\n.\r\n", limits).long_line);
  EXPECT_TRUE(read_all("0123456789A\r\n.\r\n", limits).long_line);
  EXPECT_FALSE(read_all(".123456789\r\n.\r\n", limits).long_line);  // stuffing dot counts
  EXPECT_TRUE(read_all("..123456789\r\n.\r\n", limits).long_line);
  EXPECT_TRUE(read_all("012345678\r\r\n.\r\n", limits).long_line == false);  // 10 with bare CR
  EXPECT_TRUE(read_all("0123456789\r\r\n.\r\n", limits).long_line);
}

TEST(DataReader, FeedAfterDoneConsumesNothing) {
  DataReader r(kRoomy);
  std::string out;
  EXPECT_EQ(r.feed(".\r\n", out), 3u);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.feed("more\r\n.\r\n", out), 0u);
  EXPECT_EQ(out, "");
}

TEST(DataReader, EverySplitGivesTheSameResult) {
  const std::string inputs[] = {
      "Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n",
      "a\n.\nb\r.\rc\r\n.\nd\n.\r\n..\r\n.\r\n",
      ".\r\n",
      "\r\n.\r\n",
      "...\r\n.x\r\n.\r\r\n.\r\nNOOP",
      "0123456789abcdef\r\n0123456789abcdefghij\r\n.\r\n",
  };
  const DataLimits limit_sets[] = {kRoomy, DataLimits{12, 8}, DataLimits{0, 0}};
  for (const auto& limits : limit_sets) {
    for (const auto& in : inputs) {
      Result whole = read_all(in, limits);
      EXPECT_EQ(read_bytewise(in, limits), whole) << testing::PrintToString(in);
      for (std::size_t cut = 0; cut <= in.size(); ++cut) {
        DataReader r(limits);
        Result split;
        split.consumed = r.feed(std::string_view(in).substr(0, cut), split.content);
        if (!r.done()) split.consumed += r.feed(std::string_view(in).substr(cut), split.content);
        split.done = r.done();
        split.too_big = r.too_big();
        split.bare = r.bare_newline();
        split.long_line = r.line_too_long();
        split.size = r.size();
        EXPECT_EQ(split, whole) << testing::PrintToString(in) << " cut at " << cut;
      }
    }
  }
}
