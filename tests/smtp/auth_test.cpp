#include "smtp/auth.hpp"

#include <gtest/gtest.h>

using namespace mailroom::smtp;

TEST(AuthArgs, MechanismOnly) {
  auto r = parse_auth_args("login");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value->mechanism, "LOGIN");
  EXPECT_FALSE(r.value->initial_response);
}

TEST(AuthArgs, InitialResponse) {
  auto r = parse_auth_args("PLAIN AHVzZXIAcGFzcw==");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value->mechanism, "PLAIN");
  EXPECT_EQ(r.value->initial_response, "AHVzZXIAcGFzcw==");

  r = parse_auth_args("PLAIN =");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value->initial_response, "");

  r = parse_auth_args("CRAM-MD5");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value->mechanism, "CRAM-MD5");
  EXPECT_TRUE(parse_auth_args("SCRAM-SHA-256-PLUS").ok());
  EXPECT_TRUE(parse_auth_args("X_OAUTH2").ok());
}

TEST(AuthArgs, Invalid) {
  for (const char* bad :
       {"", " PLAIN", "PLAIN a b", "PL@IN", "ABCDEFGHIJKLMNOPQRSTU", "PLAIN\tx", "PLAIN "}) {
    auto r = parse_auth_args(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error.code, 501) << bad;
    EXPECT_EQ(r.error.enhanced, "5.5.4") << bad;
  }
}

TEST(Base64, StrictDecode) {
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_EQ(base64_decode("dGVzdA=="), "test");
  EXPECT_EQ(base64_decode("VXNlcm5hbWU6"), "Username:");
  EXPECT_EQ(base64_decode("AHVzZXIAcGFzcw=="), std::string("\0user\0pass", 10));
  EXPECT_FALSE(base64_decode("dGVzdA"));  // padding required
  EXPECT_FALSE(base64_decode("dGVzdA="));
  EXPECT_FALSE(base64_decode("dGVzdA==="));
  EXPECT_FALSE(base64_decode("dGVz dA=="));
  EXPECT_FALSE(base64_decode("dGVzdA== "));
  EXPECT_FALSE(base64_decode("dGVzdB=="));  // non-zero trailing bits
  EXPECT_FALSE(base64_decode("dGVz_A=="));  // URL-safe alphabet
  EXPECT_FALSE(base64_decode("*"));
  EXPECT_FALSE(base64_decode("="));
  EXPECT_FALSE(base64_decode("\xff\xdf\x6b\xc3"));  // high octets (libsodium 1.0.18 accepts them)
  EXPECT_FALSE(base64_decode("\x80\x80\x80\x80"));
  EXPECT_FALSE(base64_decode(std::string("dGVz\0A==", 8)));
}

TEST(Base64, EncodeRoundTrips) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("Password:"), "UGFzc3dvcmQ6");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 17) {
    std::string part = all.substr(0, n);
    EXPECT_EQ(base64_decode(base64_encode(part)), part);
  }
}

TEST(AuthPlain, Valid) {
  auto c = parse_auth_plain(std::string("\0user\0pass", 10));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authzid, "");
  EXPECT_EQ(c->authcid, "user");
  EXPECT_EQ(c->password, "pass");
  c = parse_auth_plain(std::string("admin\0user\0p w", 14));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authzid, "admin");
  EXPECT_EQ(c->password, "p w");
}

TEST(AuthPlain, Invalid) {
  EXPECT_FALSE(parse_auth_plain(""));
  EXPECT_FALSE(parse_auth_plain("userpass"));
  EXPECT_FALSE(parse_auth_plain(std::string("user\0pass", 9)));
  EXPECT_FALSE(parse_auth_plain(std::string("\0\0pass", 6)));
  EXPECT_FALSE(parse_auth_plain(std::string("\0user\0", 6)));
  EXPECT_FALSE(parse_auth_plain(std::string("\0user\0pa\0ss", 11)));
  EXPECT_FALSE(
      parse_auth_plain(std::string("\0", 1) + std::string(256, 'u') + std::string("\0p", 2)));
  EXPECT_TRUE(
      parse_auth_plain(std::string("\0", 1) + std::string(255, 'u') + std::string("\0p", 2)));
}
