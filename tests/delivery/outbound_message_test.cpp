// The envelope the outbound agents send: the sender's parameters, ORCPT for a rewritten
// recipient (RFC 3461 4.2), the LMTP folder address, and recipients in the order of the items.
#include "delivery/outbound_message.hpp"

#include <gtest/gtest.h>

namespace mailroom::delivery {
namespace {

AgentJob job_with_two_recipients() {
  AgentJob job;
  auto& env = job.info.envelope;
  env.sender = "ann@example.org";
  env.body_type = "8BITMIME";
  env.smtputf8 = true;
  env.ret = "HDRS";
  env.envid = "env-1";
  env.recipients = {{"list@example.org", "", smtp::kNotifySuccess | smtp::kNotifyFailure},
                    {"bob@example.org", "rfc822;bob@old.example", smtp::kNotifyNever}};
  job.info.body_bytes = 1234;
  AgentItem forwarded;  // list@ forwarded to carl@, into his "news" folder
  forwarded.recipient = 0;
  forwarded.destination.address = "carl@example.net";
  forwarded.destination.mailbox = {"carl", "example.net", "news"};
  AgentItem direct;
  direct.recipient = 1;
  direct.destination.address = "bob@example.org";
  direct.destination.mailbox = {"bob", "example.org", ""};
  job.items = {forwarded, direct};
  return job;
}

TEST(OutboundMessage, CarriesTheSendersParameters) {
  auto m = outbound_message(job_with_two_recipients(), {0, 1}, false);
  EXPECT_EQ(m.sender, "ann@example.org");
  EXPECT_EQ(m.size, 1234u);
  EXPECT_EQ(m.body, smtp::BodyType::EightBitMime);
  EXPECT_TRUE(m.smtputf8);
  EXPECT_EQ(m.ret, "HDRS");
  EXPECT_EQ(m.envid, "env-1");
}

TEST(OutboundMessage, ForwardKeepsTheOriginalRecipientAsOrcpt) {
  auto m = outbound_message(job_with_two_recipients(), {1, 0}, false);
  ASSERT_EQ(m.recipients.size(), 2u);
  EXPECT_EQ(m.recipients[0].address, "bob@example.org");
  EXPECT_EQ(m.recipients[0].orcpt, "rfc822;bob@old.example");  // the sender's own ORCPT wins
  EXPECT_EQ(m.recipients[0].notify, smtp::kNotifyNever);
  EXPECT_EQ(m.recipients[1].address, "carl@example.net");  // SMTP: the folder stays behind
  EXPECT_EQ(m.recipients[1].orcpt, "rfc822;list@example.org");
  EXPECT_EQ(m.recipients[1].notify, smtp::kNotifySuccess | smtp::kNotifyFailure);
}

TEST(OutboundMessage, LmtpAddressesTheFolder) {
  auto m = outbound_message(job_with_two_recipients(), {0, 1}, true);
  ASSERT_EQ(m.recipients.size(), 2u);
  EXPECT_EQ(m.recipients[0].address, "carl+news@example.net");
  EXPECT_EQ(m.recipients[1].address, "bob@example.org");
}

TEST(OutboundMessage, BodyTypes) {
  auto job = job_with_two_recipients();
  for (auto [name, type] : {std::pair{"7BIT", smtp::BodyType::SevenBit},
                            std::pair{"BINARYMIME", smtp::BodyType::BinaryMime},
                            std::pair{"", smtp::BodyType::Unspecified}}) {
    job.info.envelope.body_type = name;
    EXPECT_EQ(outbound_message(job, {1}, false).body, type) << name;
  }
}

}  // namespace
}  // namespace mailroom::delivery
