#include "config/config_text.hpp"

#include <gtest/gtest.h>

#include "config/config.hpp"

using namespace mailroom::config;

namespace {

std::string refusal(std::string_view text) {
  try {
    check_config_text(text, "t.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ConfigText, InvalidUtf8IsRefusedWithItsPlace) {
  EXPECT_EQ(refusal("[server]\nbanner = \"ok\"\n# caf\xe9\n"),
            "t.toml:3:6: not UTF-8 (octet 0xE9) (byte offset 28)");
  EXPECT_NE(refusal("a = \"\xc0\xaf\"\n"), "");          // overlong '/'
  EXPECT_NE(refusal("a = \"\xed\xa0\x80\"\n"), "");      // surrogate
  EXPECT_NE(refusal("a = \"\xf4\x90\x80\x80\"\n"), "");  // beyond U+10FFFF
  EXPECT_NE(refusal("a = \"\xe2\x82\""), "");            // truncated
}

TEST(ConfigText, NonAsciiInStringsAndCommentsIsAccepted) {
  EXPECT_EQ(refusal("# Größe\n[server]\nbanner = \"Grüße § ̪\"  # ok\n"), "");
  EXPECT_EQ(refusal("a = 'wörtlich'\nb = '''\nmehrzeilig ä\n'''\nc = \"\"\"\n§ \\\" é\"\"\"\n"),
            "");
  EXPECT_EQ(refusal("\xEF\xBB\xBF[server]\n"), "");  // byte order mark
  EXPECT_EQ(refusal("\"schlüssel\" = 1\n"), "");     // quoted key
  // Every place TOML lets a string or comment begin.
  EXPECT_EQ(refusal("[\"tâble\".sub]\n[[\"äot\"]]\na.\"b€\".c=\"ü\"\n"), "");
  EXPECT_EQ(
      refusal("a = [ \"é\", # ä\n  'ö' ,\n  [\"ü\"], {} , { k = \"ß\", \"l€\" = 1 },\n]# ç\n"), "");
  EXPECT_EQ(refusal("d = 1979-05-27 07:32:00 # Zeit\nt = true# wahr\nn = -1.5e3 # Zahl\n"), "");
  EXPECT_EQ(refusal("x = [] # leer\ny = {} # leer\n"), "");
  EXPECT_EQ(refusal("s = \"\"\"\"a\"\"\"\"\" # 5 quotes close it: ä\n"), "");
  EXPECT_EQ(refusal("a = 1\r\nb = \"é\"\r\n"), "");
}

TEST(ConfigText, NonAsciiWhereTomlPlusPlusWouldMisbehaveIsRefused) {
  // toml++ 3.3 reaches __builtin_unreachable on these (marzer/tomlplusplus#295, #190).
  EXPECT_EQ(refusal("\xcc\xaa"),
            "t.toml:1:1: non-ASCII character outside a string or comment (byte offset 0)");
  EXPECT_NE(refusal("a = true\xc2\xa7\n"), "");
  EXPECT_NE(refusal("a = \"x\" \xc2\xa0# nbsp is not TOML whitespace\n"), "");
  EXPECT_EQ(refusal("s = \"\"\"\\\n\xc2\xa7\"\"\"\n"),
            "t.toml:2:1: non-ASCII character first after a line-ending backslash (toml++ "
            "cannot read it there; write it as a \\u escape) (byte offset 9)");
  EXPECT_NE(refusal("s = \"\"\"\\   \n  \n\t\xc3\xa9\"\"\"\n"), "");
  EXPECT_NE(refusal("s = \"\"\"\\\xc2\xa7\"\"\"\n"), "");
  EXPECT_NE(refusal("s = \"\\\xc2\xa7\"\n"), "");
  // A quote inside a malformed token is no string: toml++ reads on through it (fuzz/corpus).
  EXPECT_NE(refusal("4 = 3\\n\"\xcb\x9a\x15>>\n"), "");
  EXPECT_NE(refusal("iveps= [1[\"\x06\x04.1\xcd\x9a\"\"$"), "");
  EXPECT_NE(refusal("a = 1\"é\"\n"), "");
  EXPECT_NE(refusal("a = tru\"é\"\n"), "");
  EXPECT_NE(refusal("ab\"é\" = 1\n"), "");
  EXPECT_NE(refusal("a = 1 2 \"é\"\n"), "");
  // Strings end where TOML says: after them, the same rule applies again.
  EXPECT_NE(refusal("a = \"\\\"\" \xc2\xa7\n"), "");
  EXPECT_NE(refusal("a = '''x'''' \xc2\xa7\n"), "");
  EXPECT_NE(refusal("a = \"\"\"x\"\"\"\"\" \xc2\xa7\n"), "");
}

TEST(ConfigText, ParseConfigAppliesTheCheck) {
  EXPECT_THROW(parse_config("\xcc\xaa", "t.toml"), ConfigError);
  EXPECT_THROW(parse_config("[server]\nbanner = \"\xff\"\n", "t.toml"), ConfigError);
  auto c = parse_config("[server]\nbanner = \"Grüße\" # schön\n", "t.toml");
  EXPECT_EQ(c.server.banner, "Grüße");
}
