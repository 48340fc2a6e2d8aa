// RFC 6409 8: Date and Message-ID added to a submitted message that lacks them, nothing else
// touched, whatever the split of the input.
#include "smtp/missing_header_fields.hpp"

#include <gtest/gtest.h>

namespace mailroom::smtp {
namespace {

const std::string kDate = "Mon, 30 Nov 2026 12:00:00 +0000";
const std::string kId = "<1k1@mx.example.test>";

std::string run(const std::string& message, std::size_t split = 0, std::size_t cap = 65536) {
  MissingHeaderFields f(kDate, kId, cap);
  std::string out;
  if (split == 0 || split >= message.size()) {
    f.feed(message, out);
  } else {
    f.feed(std::string_view(message).substr(0, split), out);
    f.feed(std::string_view(message).substr(split), out);
  }
  f.finish(out);
  return out;
}

TEST(MissingHeaderFields, AddsBothWhenAbsentAtEverySplit) {
  const std::string m = "Subject: hi\r\nFrom: <a@b.example>\r\n\r\nbody\r\nDate: not a header\r\n";
  const std::string want = "Date: " + kDate + "\r\nMessage-ID: " + kId + "\r\n" + m;
  for (std::size_t cut = 0; cut <= m.size(); ++cut) EXPECT_EQ(run(m, cut), want) << cut;
}

TEST(MissingHeaderFields, KeepsAMessageThatHasThemByteForByte) {
  const std::string m = "date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMESSAGE-ID: <x@y>\r\n\r\nb\r\n";
  EXPECT_EQ(run(m), m);
  MissingHeaderFields f(kDate, kId);
  std::string out;
  f.feed(m, out);
  EXPECT_FALSE(f.added_date());
  EXPECT_FALSE(f.added_message_id());
}

TEST(MissingHeaderFields, AddsOnlyWhatIsMissing) {
  const std::string m = "Message-Id: <x@y>\r\nSubject: s\r\n\r\nbody\r\n";
  EXPECT_EQ(run(m), "Date: " + kDate + "\r\n" + m);
}

TEST(MissingHeaderFields, MessageWithoutBodyOrHeaders) {
  EXPECT_EQ(run("Subject: only headers\r\n"),
            "Date: " + kDate + "\r\nMessage-ID: " + kId + "\r\nSubject: only headers\r\n");
  EXPECT_EQ(run("\r\nbody only\r\n"),
            "Date: " + kDate + "\r\nMessage-ID: " + kId + "\r\n\r\nbody only\r\n");
}

TEST(MissingHeaderFields, OversizedHeaderSectionPassesUnchanged) {
  std::string m = "X-Big: " + std::string(200, 'x') + "\r\n\r\nbody\r\n";
  EXPECT_EQ(run(m, 0, 64), m);
}

}  // namespace
}  // namespace mailroom::smtp
