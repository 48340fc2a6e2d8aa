#include "directory/address.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace mailroom::directory;

namespace {
// Built with append: GCC 12 warns (-Warray-bounds, a false positive) on string(n, c) + "...".
std::string repeated(char c, std::size_t n, const char* suffix) {
  std::string out(n, c);
  out.append(suffix);
  return out;
}
}  // namespace

TEST(DirectoryAddress, CanonicalDomainLowercasesAndDropsTrailingDot) {
  EXPECT_EQ(canonical_domain("Example.TEST."), "example.test");
  EXPECT_EQ(canonical_domain("localhost"), "localhost");
  EXPECT_EQ(canonical_domain("a-b.example"), "a-b.example");
}

TEST(DirectoryAddress, CanonicalDomainRejectsBadSyntax) {
  for (const char* bad : {"", ".", "a..b", ".a", "-a.b", "a-.b", "a_b.test", "[127.0.0.1]", "a b",
                          "ex\xc3\xa4mple.test", "example.test.."}) {
    EXPECT_FALSE(canonical_domain(bad)) << bad;
  }
  EXPECT_FALSE(canonical_domain(repeated('a', 64, ".test")));
  EXPECT_TRUE(canonical_domain(repeated('a', 63, ".test")));
}

TEST(DirectoryAddress, MailboxAddressIsCanonicalised) {
  auto parts = parse_mailbox_address("Kate.Smith@Example.Test");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->local, "kate.smith");
  EXPECT_EQ(parts->domain, "example.test");
  EXPECT_EQ(parts->joined(), "kate.smith@example.test");
}

TEST(DirectoryAddress, MailboxAddressRejectsRelayCharactersAndBadSyntax) {
  for (const char* bad :
       {"kate", "@example.test", "kate@", "ka te@example.test", "a%b@example.test",
        "a!b@example.test", "a/b@example.test", "\"a@b\"@example.test", ".kate@example.test",
        "kate.@example.test", "ka..te@example.test", "kate@exa mple.test"}) {
    EXPECT_FALSE(parse_mailbox_address(bad)) << bad;
  }
  EXPECT_FALSE(parse_mailbox_address(repeated('a', 65, "@example.test")));
  EXPECT_TRUE(parse_mailbox_address(repeated('a', 64, "@example.test")));
}

TEST(DirectoryAddress, AliasSourceAcceptsCatchAll) {
  auto parts = parse_alias_source("@Example.Test");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->local, "");
  EXPECT_EQ(parts->domain, "example.test");
  EXPECT_FALSE(parse_alias_source("@"));
  EXPECT_FALSE(parse_alias_source("@@example.test"));
}

TEST(DirectoryAddress, AliasTargetKeepsLocalPartCase) {
  auto parts = parse_alias_target("John.Doe@Remote.Test");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->joined(), "John.Doe@remote.test");
  EXPECT_FALSE(parse_alias_target("@remote.test"));
  EXPECT_FALSE(parse_alias_target("a b@remote.test"));
}

TEST(DirectoryAddress, LookupUnquotesAndFlagsRelayTricks) {
  auto plain = parse_lookup_address("\"Kate\"@Example.Test.");
  EXPECT_TRUE(plain.domain_ok);
  EXPECT_TRUE(plain.local_ok);
  EXPECT_EQ(plain.parts.joined(), "kate@example.test");

  for (const char* trick : {"\"bob@remote.test\"@example.test", "bob%remote.test@example.test",
                            "remote.test!bob@example.test", "\"a\\\"b\"@example.test",
                            "\"a b\"@example.test", "@example.test", "\"\"@example.test"}) {
    auto l = parse_lookup_address(trick);
    EXPECT_TRUE(l.domain_ok) << trick;
    EXPECT_FALSE(l.local_ok) << trick;
  }
  EXPECT_FALSE(parse_lookup_address("kate").domain_ok);
  EXPECT_FALSE(parse_lookup_address("kate@[127.0.0.1]").domain_ok);
}
