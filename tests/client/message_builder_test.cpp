#include "client/message_builder.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "smtp/auth.hpp"

namespace mailroom::client {
namespace {

MessageSpec spec() {
  MessageSpec s;
  s.from = "chris@contoso.com";
  s.to = {"kate@fabrikam.com"};
  s.date = "Mon, 30 Nov 2026 12:00:00 +0000";
  s.message_id = "20261130120000.42@client.example";
  return s;
}

std::vector<std::string> lines_of(const std::string& bytes) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < bytes.size()) {
    auto nl = bytes.find("\r\n", start);
    EXPECT_NE(nl, std::string::npos) << "unterminated last line";
    if (nl == std::string::npos) break;
    out.push_back(bytes.substr(start, nl - start));
    start = nl + 2;
  }
  return out;
}

// Every line ends in CRLF, none holds a bare CR or LF, none is over `max` octets.
void expect_wire_clean(const std::string& bytes, std::size_t max = 998) {
  for (const auto& line : lines_of(bytes)) {
    EXPECT_EQ(line.find_first_of("\r\n"), std::string::npos) << line;
    EXPECT_LE(line.size(), max) << line;
  }
}

// Decodes "=?UTF-8?B?...?=" words separated by folding white space.
std::string decode_words(std::string value) {
  std::string out;
  std::size_t pos = 0;
  while ((pos = value.find("=?UTF-8?B?", pos)) != std::string::npos) {
    auto end = value.find("?=", pos + 10);
    out += smtp::base64_decode(value.substr(pos + 10, end - pos - 10)).value_or("<bad>");
    pos = end + 2;
  }
  return out;
}

TEST(MessageBuilder, DefaultMessageIsSwaksShaped) {
  auto built = build_message(spec());
  EXPECT_EQ(built.bytes,
            "Date: Mon, 30 Nov 2026 12:00:00 +0000\r\n"
            "To: kate@fabrikam.com\r\n"
            "From: chris@contoso.com\r\n"
            "Subject: test Mon, 30 Nov 2026 12:00:00 +0000\r\n"
            "Message-Id: <20261130120000.42@client.example>\r\n"
            "X-Mailer: mailroom\r\n"
            "\r\n"
            "This is a test mailing\r\n");
  EXPECT_FALSE(built.eight_bit);
  EXPECT_FALSE(built.utf8_headers);
}

TEST(MessageBuilder, HeadersReplaceDefaultsOrAreAdded) {
  auto s = spec();
  s.to = {"kate@fabrikam.com", "sales@fabrikam.com"};
  s.subject = "Test from Contoso";
  s.headers = {{"subject", "Overridden"}, {"X-Test", "yes"}, {"From", "Chris <chris@contoso.com>"}};
  s.body = "line one\nline two";
  auto built = build_message(s);
  auto lines = lines_of(built.bytes);
  EXPECT_EQ(lines[1], "To: kate@fabrikam.com, sales@fabrikam.com");
  EXPECT_EQ(lines[2], "From: Chris <chris@contoso.com>");
  EXPECT_EQ(lines[3], "Subject: Overridden");
  EXPECT_EQ(lines[6], "X-Test: yes");
  EXPECT_EQ(lines[7], "");
  EXPECT_EQ(lines[8], "line one");
  EXPECT_EQ(lines[9], "line two");
  EXPECT_EQ(lines.size(), 10u);
}

TEST(MessageBuilder, Utf8SubjectBecomesEncodedWords) {
  auto s = spec();
  std::string subject = "Prüfung der Zustellung — ünïcödé ";
  for (int i = 0; i < 4; ++i) subject += subject;  // long enough to need several words
  s.subject = subject;
  auto built = build_message(s);
  EXPECT_FALSE(built.eight_bit);
  EXPECT_FALSE(built.utf8_headers);
  expect_wire_clean(built.bytes, 78);
  auto start = built.bytes.find("Subject: ");
  auto end = built.bytes.find("\r\nMessage-Id");
  std::string field = built.bytes.substr(start + 9, end - start - 9);
  EXPECT_EQ(decode_words(field), subject);
  // Every encoded word holds whole characters: each decodes on its own as valid UTF-8 pieces.
  EXPECT_EQ(field.find("?==?"), std::string::npos);
}

TEST(MessageBuilder, DisplayNameEncodedAddressKept) {
  auto s = spec();
  s.headers = {{"From", "Jörg Müller <joerg@contoso.com>"}};
  auto built = build_message(s);
  EXPECT_FALSE(built.utf8_headers);
  EXPECT_NE(built.bytes.find("From: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(built.bytes.find("?= <joerg@contoso.com>\r\n"), std::string::npos);
  auto from = lines_of(built.bytes)[2];
  EXPECT_EQ(decode_words(from), "Jörg Müller");
}

TEST(MessageBuilder, Utf8AddressNeedsSmtputf8) {
  auto s = spec();
  s.to = {"kåre@bücher.example"};
  auto built = build_message(s);
  EXPECT_TRUE(built.utf8_headers);
  EXPECT_TRUE(built.eight_bit);
  EXPECT_NE(built.bytes.find("To: kåre@bücher.example\r\n"), std::string::npos);
}

TEST(MessageBuilder, NonAsciiBodyIsQuotedPrintable) {
  auto s = spec();
  s.body = "Grüße aus Köln\n.leading dot stays for the dot-stuffer\nend = equals  ";
  auto built = build_message(s);
  EXPECT_FALSE(built.eight_bit);
  EXPECT_NE(built.bytes.find("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                             "Content-Transfer-Encoding: quoted-printable\r\n\r\n"),
            std::string::npos);
  EXPECT_NE(built.bytes.find("Gr=C3=BC=C3=9Fe aus K=C3=B6ln\r\n"), std::string::npos);
  EXPECT_NE(built.bytes.find("end =3D equals =20\r\n"), std::string::npos);
  expect_wire_clean(built.bytes, 78);
}

TEST(MessageBuilder, QuotedPrintableSoftBreaks) {
  std::string line(200, 'a');
  auto qp = quoted_printable(line + "\r\nb");
  for (const auto& l : lines_of(qp + "\r\n")) EXPECT_LE(l.size(), 76u) << l;
  std::string joined;
  for (const auto& l : lines_of(qp + "\r\n"))
    joined += l.back() == '=' ? l.substr(0, l.size() - 1) : l + "\n";
  EXPECT_EQ(joined, line + "\nb\n");
  EXPECT_EQ(quoted_printable("tab\tend\t"), "tab\tend=09");
}

TEST(MessageBuilder, LongAsciiLineIsEncodedNotSentOver998) {
  auto s = spec();
  s.body = std::string(3000, 'x');
  auto built = build_message(s);
  expect_wire_clean(built.bytes, 78);
  s.body.reset();
  s.headers = {{"X-Long", std::string(1200, 'y')}};
  expect_wire_clean(build_message(s).bytes, 998);
}

TEST(MessageBuilder, AttachmentsMakeMultipartMixed) {
  auto s = spec();
  std::string binary;
  for (int i = 0; i < 300; ++i) binary += static_cast<char>(i % 256);
  s.attachments = {{"report.pdf", "", binary}, {"résumé.txt", "text/plain", "hello\n"}};
  s.boundary = "b0undary";
  auto built = build_message(s);
  EXPECT_FALSE(built.eight_bit);
  expect_wire_clean(built.bytes, 78);
  const auto& m = built.bytes;
  EXPECT_NE(m.find("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0undary\"\r\n"),
            std::string::npos);
  EXPECT_NE(m.find("\r\n--b0undary\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
                   "This is a test mailing\r\n"),
            std::string::npos);
  EXPECT_NE(m.find("Content-Type: application/pdf; name=\"report.pdf\"\r\n"
                   "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
                   "Content-Transfer-Encoding: base64\r\n\r\n"),
            std::string::npos);
  EXPECT_NE(m.find("filename*=utf-8''r%C3%A9sum%C3%A9.txt"), std::string::npos);
  EXPECT_NE(m.find("aGVsbG8K\r\n"), std::string::npos);  // "hello\n" in base64
  EXPECT_EQ(m.substr(m.size() - 14), "--b0undary--\r\n");
  // The PDF's base64 decodes back to the bytes.
  auto start = m.find("base64\r\n\r\n") + 10;
  auto end = m.find("\r\n\r\n--b0undary", start);
  std::string b64;
  for (const auto& l : lines_of(m.substr(start, end - start + 2))) b64 += l;
  EXPECT_EQ(smtp::base64_decode(b64), binary);
}

TEST(MessageBuilder, RawMessageIsTakenAsWritten) {
  auto raw = raw_message("Subject: hi\n\nbody\n.\n");
  EXPECT_EQ(raw.bytes, "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_FALSE(raw.utf8_headers);
  auto utf8 = raw_message("Subject: Grüße\r\n\r\nbody");
  EXPECT_EQ(utf8.bytes, "Subject: Grüße\r\n\r\nbody\r\n");
  EXPECT_TRUE(utf8.utf8_headers);
  EXPECT_TRUE(utf8.eight_bit);
  auto body8 = raw_message("Subject: x\r\n\r\nGrüße\r\n");
  EXPECT_FALSE(body8.utf8_headers);
  EXPECT_TRUE(body8.eight_bit);
}

TEST(MessageBuilder, HeaderFieldSyntax) {
  auto ok = parse_header_field("X-Test:  some value ");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->first, "X-Test");
  EXPECT_EQ(ok->second, "some value");
  EXPECT_FALSE(parse_header_field("no colon"));
  EXPECT_FALSE(parse_header_field(": empty name"));
  EXPECT_FALSE(parse_header_field("Bad Name: x"));
  EXPECT_FALSE(parse_header_field("X-Inject: a\r\nBcc: evil@example.com"));
}

TEST(MessageBuilder, Helpers) {
  EXPECT_EQ(to_crlf("a\nb\rc\r\nd"), "a\r\nb\r\nc\r\nd");
  EXPECT_EQ(guess_content_type("x.PNG"), "image/png");
  EXPECT_EQ(guess_content_type("noext"), "application/octet-stream");
  EXPECT_EQ(base64_lines(std::string(57, 'a')).size(), 78u);  // one full line
  EXPECT_EQ(encode_words("plain"), "plain");
}

}  // namespace
}  // namespace mailroom::client
