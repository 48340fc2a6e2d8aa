#include "smtp/ehlo_keywords.hpp"

#include <gtest/gtest.h>

using namespace mailroom::smtp;

TEST(EhloKeywords, FullListInOrder) {
  auto k = ehlo_keywords(Capabilities{37748736, true, true});
  EXPECT_EQ(k, (std::vector<std::string>{"SIZE 37748736", "PIPELINING", "DSN",
                                         "ENHANCEDSTATUSCODES", "STARTTLS", "AUTH PLAIN LOGIN",
                                         "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"}));
}

TEST(EhloKeywords, OptionalCapabilities) {
  auto k = ehlo_keywords(Capabilities{157286400, false, false});
  EXPECT_EQ(k,
            (std::vector<std::string>{"SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES",
                                      "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"}));
  k = ehlo_keywords(Capabilities{1000, false, true});
  EXPECT_EQ(k.at(4), "AUTH PLAIN LOGIN");
  k = ehlo_keywords(Capabilities{1000, true, false});
  EXPECT_EQ(k.at(4), "STARTTLS");
  EXPECT_EQ(k.at(5), "8BITMIME");
}

TEST(EhloKeywords, UnlimitedSize) {
  EXPECT_EQ(ehlo_keywords(Capabilities{0, false, false}).front(), "SIZE");
}
