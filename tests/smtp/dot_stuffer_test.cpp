#include "smtp/dot_stuffer.hpp"

#include <gtest/gtest.h>

#include "smtp/data_reader.hpp"

using namespace mailroom::smtp;

namespace {

constexpr DataLimits kRoomy{1 << 20, 1 << 20};

std::string unstuff(std::string_view wire, std::size_t* consumed = nullptr) {
  DataReader reader(kRoomy);
  std::string out;
  std::size_t n = reader.feed(wire, out);
  EXPECT_TRUE(reader.done()) << testing::PrintToString(std::string(wire));
  EXPECT_FALSE(reader.bare_newline()) << testing::PrintToString(std::string(wire));
  if (consumed) *consumed = n;
  return out;
}

struct Stuffed {
  std::string wire;
  bool ok = true;
  std::uint64_t bare = 0;
};

Stuffed stuff_split(std::string_view in, std::size_t cut,
                    BareLineEnd policy = BareLineEnd::Normalise) {
  DotStuffer s(policy);
  Stuffed r;
  r.ok = s.feed(in.substr(0, cut), r.wire) && s.feed(in.substr(cut), r.wire) && s.finish(r.wire);
  r.bare = s.bare_line_ends();
  return r;
}

}  // namespace

TEST(DotStuffer, SeedMessage) {
  EXPECT_EQ(dot_stuff("Subject: test\r\n\r\nThis is a test message.\r\n"),
            "Subject: test\r\n\r\nThis is a test message.\r\n.\r\n");
}

TEST(DotStuffer, LeadingDotsDoubled) {
  EXPECT_EQ(dot_stuff(".hidden\r\n..\r\n.\r\nmid.dle\r\n. x\r\n"),
            "..hidden\r\n...\r\n..\r\nmid.dle\r\n.. x\r\n.\r\n");
  EXPECT_EQ(dot_stuff("."), "..\r\n.\r\n");
}

TEST(DotStuffer, AddsFinalCrlfOnlyWhenMissing) {
  EXPECT_EQ(dot_stuff(""), ".\r\n");
  EXPECT_EQ(dot_stuff("no end"), "no end\r\n.\r\n");
  EXPECT_EQ(dot_stuff("end\r\n"), "end\r\n.\r\n");
  EXPECT_EQ(dot_stuff("\r\n"), "\r\n.\r\n");
}

TEST(DotStuffer, NormalisesBareLineEnds) {
  EXPECT_EQ(dot_stuff("a\nb\n"), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\rb"), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r\r\nb"), "a\r\n\r\nb\r\n.\r\n");  // the lone CR, then the CRLF
  EXPECT_EQ(dot_stuff("a\n\rb"), "a\r\n\r\nb\r\n.\r\n");
  EXPECT_EQ(dot_stuff("tail\r"), "tail\r\n.\r\n");
  // The smuggling shapes become plain content lines, never an early end of data.
  EXPECT_EQ(dot_stuff("a\n.\nMAIL FROM:<x@y>\n"), "a\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r.\rb"), "a\r\n..\r\nb\r\n.\r\n");
  DotStuffer s;
  std::string out;
  s.feed("a\nb\rc\r\n", out);
  s.finish(out);
  EXPECT_EQ(s.bare_line_ends(), 2u);
}

TEST(DotStuffer, RefuseStopsAtTheFirstBareLineEnd) {
  DotStuffer s(BareLineEnd::Refuse);
  std::string out;
  EXPECT_TRUE(s.feed("ok\r\n.dot\r\n", out));
  EXPECT_FALSE(s.feed("bad\nmore\r\n", out));
  EXPECT_EQ(out, "ok\r\n..dot\r\nbad");
  EXPECT_TRUE(s.refused());
  EXPECT_FALSE(s.feed("later\r\n", out));
  EXPECT_FALSE(s.finish(out));  // no terminator for a refused message
  EXPECT_EQ(out, "ok\r\n..dot\r\nbad");
  EXPECT_EQ(s.bare_line_ends(), 1u);

  DotStuffer cr_at_end(BareLineEnd::Refuse);
  out.clear();
  EXPECT_TRUE(cr_at_end.feed("x\r", out));  // might still be a CRLF
  EXPECT_FALSE(cr_at_end.finish(out));
  EXPECT_EQ(out, "x");
}

TEST(DotStuffer, SameOutputForEverySplit) {
  std::string m = ".a\r\n\r\n..b\nc\r\r\n.\r\n.";
  std::string whole = stuff_split(m, m.size()).wire;
  for (std::size_t cut = 0; cut <= m.size(); ++cut) {
    EXPECT_EQ(stuff_split(m, cut).wire, whole) << cut;
  }
  DotStuffer bytewise;
  std::string out;
  for (char c : m) bytewise.feed(std::string_view(&c, 1), out);
  bytewise.finish(out);
  EXPECT_EQ(out, whole);
}

TEST(DotStuffer, RoundTripsThroughDataReader) {
  for (std::string_view m :
       {"", "\r\n", ".\r\n", "..\r\n", ".\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n",
        "line one\r\n.line two\r\n..line three\r\n", ". \r\n.\t\r\n\r\n.\r\n"}) {
    for (std::size_t cut = 0; cut <= m.size(); ++cut) {
      auto s = stuff_split(m, cut);
      std::size_t consumed = 0;
      EXPECT_EQ(unstuff(s.wire, &consumed), m) << testing::PrintToString(std::string(m)) << cut;
      EXPECT_EQ(consumed, s.wire.size());
      EXPECT_EQ(s.bare, 0u);
    }
  }
  // Without a final CRLF the reader sees the one the stuffer added.
  EXPECT_EQ(unstuff(dot_stuff(".no end")), ".no end\r\n");
}

TEST(CrlfNormaliser, NoDotsNoTerminator) {
  CrlfNormaliser n;
  std::string out;
  n.feed(".a\nb\r", out);
  EXPECT_EQ(out, ".a\r\nb");
  n.feed("\n.c\r", out);
  EXPECT_TRUE(n.finish(out));
  EXPECT_EQ(out, ".a\r\nb\r\n.c\r\n");
  EXPECT_EQ(n.bare_line_ends(), 2u);

  CrlfNormaliser refuse(BareLineEnd::Refuse);
  out.clear();
  EXPECT_TRUE(refuse.feed("a\r\nb", out));
  EXPECT_FALSE(refuse.feed("\rc", out));
  EXPECT_EQ(out, "a\r\nb");
}
