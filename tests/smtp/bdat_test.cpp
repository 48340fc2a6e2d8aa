#include "smtp/bdat.hpp"

#include <gtest/gtest.h>

using namespace mailroom::smtp;

TEST(BdatArgs, Valid) {
  auto r = parse_bdat_args("1000");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value->size, 1000u);
  EXPECT_FALSE(r.value->last);

  r = parse_bdat_args("0 LAST");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value->size, 0u);
  EXPECT_TRUE(r.value->last);

  r = parse_bdat_args("1000 last");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value->last);

  r = parse_bdat_args("18446744073709551615");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value->size, 18446744073709551615u);

  EXPECT_TRUE(parse_bdat_args("00000000000000000012  LAST").ok());
}

TEST(BdatArgs, Invalid) {
  for (const char* bad : {"", " ", "-1", "+1", "abc", "10abc", "1.5", "0x10", "10 LAST extra",
                          "10 FIRST", "10 LASTX", "LAST", "LAST 10", "18446744073709551616",
                          "99999999999999999999", "000000000000000000001", "１０"}) {
    auto r = parse_bdat_args(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error.code, 501) << bad;
    EXPECT_EQ(r.error.enhanced, "5.5.4") << bad;
  }
}

// Issue 11: "BDAT 5 LAST EXTRA" is refused, but its chunk size is known: the session skips the
// 5 octets and goes on. Without a size it cannot tell chunk bytes from commands.
TEST(BdatArgs, AnnouncedSizeOfARefusedCommand) {
  EXPECT_EQ(announced_chunk_size("5 LAST EXTRA"), 5u);
  EXPECT_EQ(announced_chunk_size("10 FIRST"), 10u);
  EXPECT_EQ(announced_chunk_size(" 7\tLASTX"), 7u);
  EXPECT_EQ(announced_chunk_size("1000 LAST"), 1000u);
  for (const char* unknown : {"", " ", "abc", "-5", "+1", "0x10", "LAST", "LAST 10", "10abc",
                              "18446744073709551616", "99999999999999999999"})
    EXPECT_FALSE(announced_chunk_size(unknown)) << unknown;
}

TEST(DecimalU64, Bounds) {
  EXPECT_EQ(parse_decimal_u64("0"), 0u);
  EXPECT_EQ(parse_decimal_u64("37748736"), 37748736u);
  EXPECT_FALSE(parse_decimal_u64(""));
  EXPECT_FALSE(parse_decimal_u64("18446744073709551616"));
  EXPECT_FALSE(parse_decimal_u64("184467440737095516150"));
}

namespace {
// Feeds `chunks` to a fresh body and finishes it.
BdatBody fed(std::initializer_list<std::string_view> chunks, bool binary = false,
             std::uint64_t max = 1000) {
  BdatBody b(max, binary);
  for (auto c : chunks) b.add(c);
  b.finish();
  return b;
}
}  // namespace

TEST(BdatBody, CleanMessageInAnyPieces) {
  EXPECT_FALSE(fed({"Subject: a\r\n\r\nx\r\n"}).bare_newline());
  EXPECT_FALSE(fed({"Subject: a\r", "\n\r\nx\r", "\n"}).bare_newline());
  EXPECT_EQ(fed({"ab", "", "cd"}).size(), 4u);
}

TEST(BdatBody, BareNewlinesWhereverTheyFall) {
  EXPECT_TRUE(fed({"a\nb\r\n"}).bare_newline());
  EXPECT_TRUE(fed({"a\rb\r\n"}).bare_newline());
  EXPECT_TRUE(fed({"a\r", "b\r\n"}).bare_newline());    // CR ends one chunk, no LF starts the next
  EXPECT_TRUE(fed({"a\r\n", "\n"}).bare_newline());     // LF alone at a chunk start
  EXPECT_TRUE(fed({"body\r\n.\r"}).bare_newline());     // CR as the message's last octet
  EXPECT_TRUE(fed({"body\r\n", "\r"}).bare_newline());  // ... in a chunk of its own
  EXPECT_FALSE(fed({"a\nb\rc\r"}, /*binary=*/true).bare_newline());  // BINARYMIME is opaque
}

TEST(BdatBody, SizeLimit) {
  BdatBody b(10, false);
  EXPECT_TRUE(b.add("0123456789"));
  EXPECT_FALSE(b.too_big());
  EXPECT_FALSE(b.add("x"));
  EXPECT_TRUE(b.too_big());
  EXPECT_FALSE(b.add(""));  // stays too big: nothing more is stored
  EXPECT_EQ(b.size(), 11u);
}
