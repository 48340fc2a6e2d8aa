#include "smtp/header_field_capture.hpp"

#include <gtest/gtest.h>

namespace mailroom::smtp {
namespace {

TEST(HeaderFieldCapture, FindsFieldAcrossChunksCaseInsensitiveAndUnfolded) {
  HeaderFieldCapture c("Message-ID");
  const std::string msg =
      "Subject: hi\r\nmessage-id :\r\n <abc@example.org>\r\nFrom: a@b\r\n\r\nMessage-ID: "
      "<body>\r\n";
  for (char ch : msg) c.feed(std::string_view(&ch, 1));
  EXPECT_EQ(c.value(), "<abc@example.org>");
}

TEST(HeaderFieldCapture, IgnoresTheBodyAndMissingFields) {
  HeaderFieldCapture c("Message-ID");
  c.feed("Subject: x\r\n\r\nMessage-ID: <in-body@x>\r\n");
  EXPECT_EQ(c.value(), "");
  HeaderFieldCapture none("Message-ID");
  none.feed("\r\nMessage-ID: <x>\r\n");
  EXPECT_EQ(none.value(), "");
}

TEST(HeaderFieldCapture, StopsAtItsLimit) {
  HeaderFieldCapture c("Message-ID", 64);
  c.feed(std::string(100, 'X') + "\r\nMessage-ID: <late@x>\r\n\r\n");
  EXPECT_EQ(c.value(), "");
}

}  // namespace
}  // namespace mailroom::smtp
