#include "smtp/address.hpp"

#include <gtest/gtest.h>

using namespace mailroom::smtp;

namespace {
Address parse_ok(std::string_view s) {
  ParsedAddress p = parse_mailbox(s);
  EXPECT_TRUE(p.ok()) << s;
  return p.address;
}
AddressError parse_error(std::string_view s) { return parse_mailbox(s).error; }
}  // namespace

TEST(Mailbox, PlainAddress) {
  Address a = parse_ok("chris@Contoso.COM");
  EXPECT_EQ(a.local_part, "chris");
  EXPECT_EQ(a.domain, "contoso.com");
  EXPECT_FALSE(a.quoted);
  EXPECT_FALSE(a.utf8);
  EXPECT_EQ(a.str(), "chris@contoso.com");
}

TEST(Mailbox, LocalPartKeepsCase) { EXPECT_EQ(parse_ok("Admin@test.com").local_part, "Admin"); }

TEST(Mailbox, TrailingDotDomain) {
  EXPECT_EQ(parse_ok("a@example.org.").domain, "example.org");
  EXPECT_EQ(parse_error("a@example.org.."), AddressError::Syntax);
}

TEST(Mailbox, AtextSpecials) {
  Address a = parse_ok("first.last+tag!#$%&'*/=?^_`{|}~-@example.org");
  EXPECT_EQ(a.local_part, "first.last+tag!#$%&'*/=?^_`{|}~-");
  EXPECT_EQ(a.str(), "first.last+tag!#$%&'*/=?^_`{|}~-@example.org");
}

TEST(Mailbox, RelayTricksAreKeptVisible) {
  Address percent = parse_ok("user%other.org@example.test");
  EXPECT_EQ(percent.local_part, "user%other.org");
  EXPECT_EQ(percent.domain, "example.test");
  Address bang = parse_ok("other.org!user@example.test");
  EXPECT_EQ(bang.local_part, "other.org!user");
  Address quoted_at = parse_ok("\"user@other.org\"@example.test");
  EXPECT_EQ(quoted_at.local_part, "user@other.org");
  EXPECT_TRUE(quoted_at.quoted);
  EXPECT_EQ(quoted_at.domain, "example.test");
  EXPECT_EQ(quoted_at.str(), "\"user@other.org\"@example.test");
}

TEST(Mailbox, QuotedLocalParts) {
  Address a = parse_ok("\"john doe\"@example.org");
  EXPECT_EQ(a.local_part, "john doe");
  EXPECT_TRUE(a.quoted);
  EXPECT_EQ(a.str(), "\"john doe\"@example.org");

  Address escaped = parse_ok("\"a\\\"b\\\\c\"@example.org");
  EXPECT_EQ(escaped.local_part, "a\"b\\c");
  EXPECT_EQ(escaped.str(), "\"a\\\"b\\\\c\"@example.org");

  // Quoting that was not needed is dropped in the canonical form.
  Address needless = parse_ok("\"john\"@example.org");
  EXPECT_EQ(needless.local_part, "john");
  EXPECT_EQ(needless.str(), "john@example.org");

  EXPECT_EQ(parse_ok("\"\"@example.org").str(), "\"\"@example.org");
}

TEST(Mailbox, QuotedLocalPartErrors) {
  EXPECT_EQ(parse_error("\"unterminated@example.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("\"a\"b@example.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("\"a\\"), AddressError::Syntax);
  EXPECT_EQ(parse_error(std::string("\"a\\\x01\"@b.org")), AddressError::Syntax);
  EXPECT_EQ(parse_error(std::string("\"a\tb\"@b.org")), AddressError::Syntax);
  EXPECT_EQ(parse_error("\"a\"@"), AddressError::Syntax);
}

TEST(Mailbox, DotStringErrors) {
  EXPECT_EQ(parse_error(".a@b.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a.@b.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a..b@b.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a b@b.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a(b)@b.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("@b.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("ab.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a@"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a@b@c.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error(""), AddressError::Syntax);
}

TEST(Mailbox, DomainErrors) {
  EXPECT_EQ(parse_error("a@-b.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a@b-.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a@b_c.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a@.b.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a@b..org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a@" + std::string(64, 'x') + ".org"), AddressError::Syntax);
  EXPECT_TRUE(parse_mailbox("a@" + std::string(63, 'x') + ".org").ok());
}

TEST(Mailbox, IpLiterals) {
  EXPECT_EQ(parse_ok("a@[192.0.2.1]").domain, "[192.0.2.1]");
  EXPECT_EQ(parse_ok("a@[IPv6:2001:DB8:0:0::1]").domain, "[IPv6:2001:db8::1]");
  EXPECT_EQ(parse_ok("a@[ipv6:::1]").domain, "[IPv6:::1]");
  EXPECT_EQ(parse_error("a@[192.0.2.256]"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a@[192.0.2]"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a@[2001:db8::1]"), AddressError::Syntax);  // needs the IPv6: tag
  EXPECT_EQ(parse_error("a@[IPv6:192.0.2.1]"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a@[x-tag:stuff]"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a@[192.0.2.1"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a@[]"), AddressError::Syntax);
  EXPECT_EQ(parse_error("a@[IPv6:fe80::1%eth0]"), AddressError::Syntax);
}

TEST(Mailbox, Utf8) {
  Address a = parse_ok("d\xc3\xb6rte@\xc3\xa9xample.org");
  EXPECT_TRUE(a.utf8);
  EXPECT_EQ(a.local_part, "d\xc3\xb6rte");
  EXPECT_EQ(a.domain, "\xc3\xa9xample.org");
  EXPECT_TRUE(parse_ok("\xe7\x94\xa8\xe6\x88\xb7@example.org").utf8);
  EXPECT_TRUE(parse_ok("\"j\xc3\xb6 d\"@example.org").utf8);
  EXPECT_TRUE(parse_ok("a@b\xc3\xbc\x63her.de").utf8);
  EXPECT_FALSE(parse_ok("a@xn--bcher-kva.de").utf8);
}

TEST(Mailbox, MalformedUtf8IsRefused) {
  EXPECT_EQ(parse_error("\xc3@example.org"), AddressError::Syntax);              // truncated
  EXPECT_EQ(parse_error("\xc0\xaf@example.org"), AddressError::Syntax);          // overlong '/'
  EXPECT_EQ(parse_error("\xed\xa0\x80@example.org"), AddressError::Syntax);      // surrogate
  EXPECT_EQ(parse_error("\xf4\x90\x80\x80@example.org"), AddressError::Syntax);  // > U+10FFFF
  EXPECT_EQ(parse_error("a@\xff.org"), AddressError::Syntax);
  EXPECT_EQ(parse_error("\"\x80\"@example.org"), AddressError::Syntax);
}

// Built with append rather than operator+ on temporaries: GCC 12 -O2 reports a false
// -Warray-bounds on `std::string(n, c) + "literal"` (GCC bug 105329).
static std::string repeated_then(std::size_t n, char c, std::string_view tail) {
  std::string out(n, c);
  out.append(tail);
  return out;
}

TEST(Mailbox, LengthLimits) {
  EXPECT_TRUE(parse_mailbox(repeated_then(64, 'a', "@b.org")).ok());
  EXPECT_EQ(parse_error(repeated_then(65, 'a', "@b.org")), AddressError::TooLong);
  EXPECT_EQ(parse_error("\"" + repeated_then(63, 'a', "\"@b.org")), AddressError::TooLong);
  std::string domain;
  while (domain.size() < 250) domain += "abcdefghi.";
  domain += "abcde";  // 255 octets
  ASSERT_EQ(domain.size(), 255u);
  EXPECT_TRUE(parse_mailbox("a@" + domain).ok());
  EXPECT_TRUE(parse_mailbox("a@" + domain + ".").ok());
  EXPECT_EQ(parse_error("a@" + domain + "x"), AddressError::TooLong);
}

TEST(Domain, Validation) {
  EXPECT_TRUE(is_valid_domain("contoso.com", false));
  EXPECT_TRUE(is_valid_domain("localhost", false));
  EXPECT_TRUE(is_valid_domain("a-b.c0m.", false));
  EXPECT_TRUE(is_valid_domain("123.example", false));
  EXPECT_FALSE(is_valid_domain("", false));
  EXPECT_FALSE(is_valid_domain(".", false));
  EXPECT_FALSE(is_valid_domain("a..b", false));
  EXPECT_FALSE(is_valid_domain("a.b..", false));
  EXPECT_FALSE(is_valid_domain("exa mple.com", false));
  EXPECT_FALSE(is_valid_domain("\xc3\xa9xample.org", false));
  EXPECT_TRUE(is_valid_domain("\xc3\xa9xample.org", true));
  EXPECT_FALSE(is_valid_domain("[192.0.2.1]", true));
}

TEST(Domain, AddressLiterals) {
  EXPECT_TRUE(is_address_literal("[127.0.0.1]"));
  EXPECT_TRUE(is_address_literal("[IPv6:::1]"));
  EXPECT_TRUE(is_address_literal("[IPv6:::ffff:192.0.2.1]"));
  EXPECT_FALSE(is_address_literal("127.0.0.1"));
  EXPECT_FALSE(is_address_literal("[01.2.3.4]"));
  EXPECT_FALSE(is_address_literal("[1.2.3.4 ]"));
  EXPECT_FALSE(is_address_literal("[IPv6:" + std::string(100, '1') + "]"));
  EXPECT_FALSE(is_address_literal(std::string("[192.0.2.1\0junk]", 16)));
  EXPECT_FALSE(is_address_literal(std::string("[IPv6:::1\0]", 11)));
}

TEST(Domain, HeloArgument) {
  EXPECT_TRUE(is_valid_helo_argument("contoso.com"));
  EXPECT_TRUE(is_valid_helo_argument("[192.0.2.7]"));
  EXPECT_TRUE(is_valid_helo_argument("[IPv6:2001:db8::7]"));
  EXPECT_TRUE(is_valid_helo_argument("mail.example.org."));
  EXPECT_FALSE(is_valid_helo_argument(""));
  EXPECT_FALSE(is_valid_helo_argument("192.0.2.300]"));
  EXPECT_FALSE(is_valid_helo_argument("[192.0.2.300]"));
  EXPECT_FALSE(is_valid_helo_argument("contoso.com extra"));
}

// Issue 11: real hosts (Windows machines above all) have underscores in their names, and Postfix
// accepts them in HELO; names that are really broken stay refused.
TEST(Domain, HeloArgumentAcceptsUnderscoresLikePostfix) {
  for (const char* name : {"my_pc", "foo_bar.example", "DESKTOP_7F3K.corp.example", "_dc.example",
                           "a_.example", "host_1.", "\xc3\xa9t\xc3\xa9_1.example"})
    EXPECT_TRUE(is_valid_helo_argument(name)) << name;
  for (const char* name : {"bad_domain!", "-bad-.example", "foo..bar", ".foo", "foo bar", "a/b",
                           "a@b", "a_b.-x", "\xff_bad"})
    EXPECT_FALSE(is_valid_helo_argument(name)) << name;
  EXPECT_FALSE(is_valid_helo_argument(std::string(64, '_') + ".example"));
  EXPECT_FALSE(is_valid_domain("foo_bar.example", false));  // addresses keep RFC 5321 LDH
}

TEST(Domain, Normalize) {
  EXPECT_EQ(normalize_domain("Contoso.COM."), "contoso.com");
  EXPECT_EQ(normalize_domain("x"), "x");
  EXPECT_EQ(normalize_domain(""), "");
  EXPECT_EQ(normalize_domain("\xc3\x89.ORG"), "\xc3\x89.org");  // only ASCII is folded
}

TEST(AddressStr, SpecialForms) {
  Address null_path;
  null_path.is_null = true;
  EXPECT_EQ(null_path.str(), "");
  Address postmaster;
  postmaster.local_part = "Postmaster";
  EXPECT_EQ(postmaster.str(), "Postmaster");
  Address dotted;
  dotted.local_part = "a..b";
  dotted.domain = "x.org";
  EXPECT_EQ(dotted.str(), "\"a..b\"@x.org");
}

TEST(DotString, Rules) {
  EXPECT_TRUE(is_dot_string("a.b.c"));
  EXPECT_TRUE(is_dot_string("\xc3\xa9"));
  EXPECT_FALSE(is_dot_string(""));
  EXPECT_FALSE(is_dot_string("a..b"));
  EXPECT_FALSE(is_dot_string("a@b"));
  EXPECT_FALSE(is_dot_string("a b"));
  EXPECT_FALSE(is_dot_string(std::string("a\0b", 3)));
}
