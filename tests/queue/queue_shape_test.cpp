// `mailroom queue summary`: Postfix qshape's table — messages per destination domain by age,
// each message once per domain, final recipients left out, recipients counted by state.
#include <gtest/gtest.h>

#include "queue/admin_client.hpp"

namespace mailroom::queue {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

QueuedMessageView message(std::int64_t age_s,
                          std::vector<std::pair<std::string, RecipientStatus>> r) {
  QueuedMessageView m;
  m.envelope.arrival_unix = kNow - age_s;
  for (auto& [address, status] : r) {
    m.envelope.recipients.push_back({address, "", 0});
    RecipientState s;
    s.status = status;
    m.states.push_back(s);
  }
  return m;
}

TEST(QueueShape, CountsMessagesPerDomainByAgeBucket) {
  using S = RecipientStatus;
  std::vector<QueuedMessageView> q{
      message(60, {{"a@fabrikam.test", S::Deferred}, {"b@fabrikam.test", S::Deferred}}),
      message(11 * 60, {{"c@fabrikam.test", S::Pending}, {"d@contoso.test", S::Deferred}}),
      message(2000 * 60, {{"e@Contoso.TEST", S::Deferred}, {"f@example.test", S::Delivered}}),
  };
  auto shape = queue_shape(q, kNow);
  ASSERT_EQ(shape.rows.size(), 2u);
  EXPECT_EQ(shape.rows[0].domain, "contoso.test");  // ties keep domain order; 2 each here
  EXPECT_EQ(shape.rows[0].total, 2u);
  EXPECT_EQ(shape.rows[0].by_age[2], 1u);  // 11 minutes: the "20" bucket
  EXPECT_EQ(shape.rows[0].by_age[9], 1u);  // over 1280 minutes
  EXPECT_EQ(shape.rows[1].domain, "fabrikam.test");
  EXPECT_EQ(shape.rows[1].total, 2u);  // the first message counts once for two recipients
  EXPECT_EQ(shape.rows[1].by_age[0], 1u);
  EXPECT_EQ(shape.messages, 3u);
  EXPECT_EQ(shape.recipients_by_state.at("deferred"), 4u);
  EXPECT_EQ(shape.recipients_by_state.at("delivered"), 1u);
  auto text = format_shape(shape);
  EXPECT_NE(text.find("TOTAL      4"), std::string::npos) << text;
  auto json = format_shape_json(shape);
  EXPECT_NE(json.find("\"domain\": \"contoso.test\""), std::string::npos) << json;
}

}  // namespace
}  // namespace mailroom::queue
