#include "queue/state_db.hpp"

#include <gtest/gtest.h>

#include "queue_test_support.hpp"

namespace mailroom::queue {
namespace {

using testing::TempDir;

TEST(StateDb, UpsertLoadAndRemoveRoundTrip) {
  TempDir dir;
  auto db = StateDb::open(dir.path() + "/state.db", true);
  RecipientState s;
  s.status = RecipientStatus::Deferred;
  s.reason = "4.4.0 remote delivery not available";
  s.attempts = 2;
  s.next_attempt_unix = 1234;
  s.delivered_to = {"kate@example.test", "chris@example.test"};
  db->apply({{"m1", 0, s}, {"m2", 1, s}});
  s.attempts = 3;
  db->apply({{"m1", 0, s}});  // upsert
  auto all = db->load_all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all["m1"][0].attempts, 3u);
  EXPECT_EQ(all["m1"][0].delivered_to, s.delivered_to);
  EXPECT_EQ(all["m2"][1].reason, s.reason);
  db->apply({}, {"m1"});
  EXPECT_TRUE(db->load("m1").empty());
  EXPECT_EQ(db->load("m2").size(), 1u);
}

TEST(StateDb, OpeningWithoutCreateRefusesAMissingDatabase) {
  TempDir dir;
  EXPECT_THROW(StateDb::open(dir.path() + "/missing.db", false), std::runtime_error);
}

// The server polls changed_by_others(); a command posted by the CLI right after the server opened
// the database must be seen by the very first poll.
TEST(StateDb, FirstPollSeesACommandPostedAfterOpen) {
  TempDir dir;
  auto server = StateDb::open(dir.path() + "/state.db", true);
  auto cli = StateDb::open(dir.path() + "/state.db", false);
  auto seq = cli->post_command("flush", "");
  EXPECT_TRUE(server->changed_by_others());
  EXPECT_FALSE(server->changed_by_others());
  auto pending = server->pending_commands();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].seq, seq);
  server->complete_command(seq, "0 flushed 0 message(s)");
  EXPECT_FALSE(server->changed_by_others());  // its own writes do not count
  auto done = cli->command(seq);
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->done);
  EXPECT_EQ(done->result, "0 flushed 0 message(s)");
}

}  // namespace
}  // namespace mailroom::queue
