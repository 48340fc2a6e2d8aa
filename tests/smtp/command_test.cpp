#include "smtp/command.hpp"

#include <gtest/gtest.h>

using namespace mailroom::smtp;

TEST(ParseCommand, RecognisesEveryVerbCaseInsensitively) {
  struct Case {
    const char* line;
    Verb verb;
  };
  const Case cases[] = {
      {"HELO contoso.com", Verb::Helo},
      {"ehlo contoso.com", Verb::Ehlo},
      {"Mail FROM:<a@b>", Verb::Mail},
      {"rcpt TO:<a@b>", Verb::Rcpt},
      {"DATA", Verb::Data},
      {"bdat 10 LAST", Verb::Bdat},
      {"RSET", Verb::Rset},
      {"noop", Verb::Noop},
      {"QUIT", Verb::Quit},
      {"VRFY postmaster", Verb::Vrfy},
      {"EXPN list", Verb::Expn},
      {"HELP", Verb::Help},
      {"AUTH LOGIN", Verb::Auth},
      {"StartTLS", Verb::StartTls},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parse_command(c.line).verb, c.verb) << c.line;
  }
}

TEST(ParseCommand, MailKeepsParametersAfterTheVerb) {
  Command cmd = parse_command("MAIL FROM:<a@b> SIZE=10");
  EXPECT_EQ(cmd.verb, Verb::Mail);
  EXPECT_EQ(cmd.verb_text, "MAIL");
  EXPECT_EQ(cmd.args, "FROM:<a@b> SIZE=10");

  cmd = parse_command("rcpt to: <kate@fabrikam.com>  ");
  EXPECT_EQ(cmd.verb_text, "RCPT");
  EXPECT_EQ(cmd.args, "to: <kate@fabrikam.com>");
}

TEST(ParseCommand, TrimsBlanksAroundVerbAndArguments) {
  Command cmd = parse_command("  EHLO \t contoso.com \t");
  EXPECT_EQ(cmd.verb, Verb::Ehlo);
  EXPECT_EQ(cmd.args, "contoso.com");
  EXPECT_EQ(parse_command("EHLO\tcontoso.com").args, "contoso.com");
}

TEST(ParseCommand, UnknownVerbs) {
  EXPECT_EQ(parse_command("").verb, Verb::Unknown);
  EXPECT_EQ(parse_command("   ").verb, Verb::Unknown);
  EXPECT_EQ(parse_command("MAILFROM:<a@b>").verb, Verb::Unknown);
  EXPECT_EQ(parse_command("HELOX a").verb, Verb::Unknown);
  EXPECT_EQ(parse_command("HEL").verb, Verb::Unknown);
  Command cmd = parse_command("xyzzy plugh");
  EXPECT_EQ(cmd.verb, Verb::Unknown);
  EXPECT_EQ(cmd.verb_text, "XYZZY");
  EXPECT_EQ(cmd.args, "plugh");
}

TEST(ParseCommand, VerbTextOfAHugeTokenIsBounded) {
  std::string line(5000, 'A');
  Command cmd = parse_command(line);
  EXPECT_EQ(cmd.verb, Verb::Unknown);
  EXPECT_LE(cmd.verb_text.size(), 32u);
  // A recognised verb followed by junk in the same token stays unknown.
  EXPECT_EQ(parse_command("QUIT" + std::string(40, 'X')).verb, Verb::Unknown);
}

TEST(ParseCommand, VerbWithoutArguments) {
  Command cmd = parse_command("DATA");
  EXPECT_EQ(cmd.verb, Verb::Data);
  EXPECT_EQ(cmd.args, "");
}

TEST(ForbiddenBytes, ControlCharactersAreRefused) {
  EXPECT_FALSE(contains_forbidden_bytes("MAIL FROM:<a@b>"));
  EXPECT_FALSE(contains_forbidden_bytes("EHLO\tcontoso.com"));
  EXPECT_FALSE(contains_forbidden_bytes("MAIL FROM:<\xc3\xa9@b> SMTPUTF8"));
  EXPECT_TRUE(contains_forbidden_bytes(std::string("RSET\0QUIT", 9)));
  EXPECT_TRUE(contains_forbidden_bytes("RSET\rQUIT"));
  EXPECT_TRUE(contains_forbidden_bytes("RSET\nQUIT"));
  EXPECT_TRUE(contains_forbidden_bytes("NOOP \x1b[31m"));
  EXPECT_TRUE(contains_forbidden_bytes("\x01"));
}

TEST(VerbName, RoundTrips) {
  EXPECT_EQ(verb_name(Verb::StartTls), "STARTTLS");
  EXPECT_EQ(verb_name(Verb::Mail), "MAIL");
  EXPECT_EQ(verb_name(Verb::Unknown), "UNKNOWN");
  EXPECT_EQ(parse_command(verb_name(Verb::Bdat)).verb, Verb::Bdat);
}
