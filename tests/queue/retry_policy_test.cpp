#include "queue/retry_policy.hpp"

#include <gtest/gtest.h>

#include "spool/message_id.hpp"

namespace mailroom::queue {
namespace {

TEST(RetryPolicy, DefaultsDoubleFromFiveMinutesUpTo4000Seconds) {
  RetryPolicy p{config::QueueConfig{}};
  std::vector<std::int64_t> got;
  for (std::uint32_t attempts = 1; attempts <= 7; ++attempts) got.push_back(p.backoff_s(attempts));
  EXPECT_EQ(got, (std::vector<std::int64_t>{300, 600, 1200, 2400, 4000, 4000, 4000}));
  EXPECT_EQ(p.next_attempt(1000, 2), 1600);
}

TEST(RetryPolicy, LifetimeIsFiveDaysByDefault) {
  RetryPolicy p{config::QueueConfig{}};
  EXPECT_FALSE(p.expired(0, 5 * 86400 - 1));
  EXPECT_TRUE(p.expired(0, 5 * 86400));
}

TEST(RetryPolicy, EveryLimitIsConfigurable) {
  config::QueueConfig cfg;
  cfg.min_backoff_s = 10;
  cfg.max_backoff_s = 35;
  cfg.max_lifetime_s = 100;
  RetryPolicy p{cfg};
  EXPECT_EQ(p.backoff_s(1), 10);
  EXPECT_EQ(p.backoff_s(2), 20);
  EXPECT_EQ(p.backoff_s(3), 35);
  EXPECT_EQ(p.backoff_s(200), 35);  // no overflow however many attempts
  EXPECT_FALSE(p.expired(1000, 1099));
  EXPECT_TRUE(p.expired(1000, 1100));
}

TEST(RetryPolicy, MaxBelowMinNeverShortensTheMinimum) {
  config::QueueConfig cfg;
  cfg.min_backoff_s = 300;
  cfg.max_backoff_s = 100;
  EXPECT_EQ(RetryPolicy{cfg}.backoff_s(3), 300);
}

TEST(MessageIdInput, AcceptsTheFormsOfThe250Reply) {
  spool::MessageIdGenerator gen;
  auto id = gen.next();
  EXPECT_EQ(spool::normalize_message_id(id), id);
  EXPECT_EQ(spool::normalize_message_id("<" + id + "@mx.example.test>"), id);
  EXPECT_EQ(spool::normalize_message_id(id + "@mx.example.test"), id);
  EXPECT_EQ(spool::normalize_message_id("  <" + id + ">\n"), id);
  std::string upper = id;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(spool::normalize_message_id(upper), id);
  EXPECT_TRUE(spool::is_valid_message_id(spool::normalize_message_id("<" + id + "@other.host>")));
}

TEST(MessageIdInput, GarbageStaysInvalid) {
  for (const char* bad : {"", "<>", "@host", "../../etc/passwd", "<abc@host>", "a/b@c"})
    EXPECT_FALSE(spool::is_valid_message_id(spool::normalize_message_id(bad))) << bad;
}

}  // namespace
}  // namespace mailroom::queue
