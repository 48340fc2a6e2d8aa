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

TEST(DecimalU64, Bounds) {
  EXPECT_EQ(parse_decimal_u64("0"), 0u);
  EXPECT_EQ(parse_decimal_u64("37748736"), 37748736u);
  EXPECT_FALSE(parse_decimal_u64(""));
  EXPECT_FALSE(parse_decimal_u64("18446744073709551616"));
  EXPECT_FALSE(parse_decimal_u64("184467440737095516150"));
}
