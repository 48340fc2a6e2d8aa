#include "queue/state_db.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

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

TEST(StateDb, RemoteDetailsAndFlagsRoundTrip) {
  TempDir dir;
  auto db = StateDb::open(dir.path() + "/state.db", true);
  RecipientState s;
  s.status = RecipientStatus::Delivered;
  s.remote_mta = "mx.fabrikam.test[192.0.2.7]:25";
  s.diagnostic = "250 2.0.0 Ok: queued as 4Xy";
  s.relayed = true;
  s.delay_notified = true;
  db->apply({{"m1", 0, s}});
  auto back = db->load("m1").at(0);
  EXPECT_EQ(back.remote_mta, s.remote_mta);
  EXPECT_EQ(back.diagnostic, s.diagnostic);
  EXPECT_TRUE(back.relayed);
  EXPECT_TRUE(back.delay_notified);
}

// A state.db written before remote delivery existed (no remote_mta, diagnostic, flags columns)
// keeps its rows and gains the columns on open.
TEST(StateDb, DatabaseOfAnEarlierVersionIsUpgradedInPlace) {
  TempDir dir;
  const auto path = dir.path() + "/state.db";
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    const char* old_schema =
        "CREATE TABLE recipient_state(message_id TEXT NOT NULL, rcpt_index INTEGER NOT NULL, "
        "status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL "
        "DEFAULT 0, next_attempt_unix INTEGER NOT NULL DEFAULT 0, last_attempt_unix INTEGER NOT "
        "NULL DEFAULT 0, notified INTEGER NOT NULL DEFAULT 0, delivered_to TEXT NOT NULL DEFAULT "
        "'', PRIMARY KEY(message_id, rcpt_index)) WITHOUT ROWID;"
        "INSERT INTO recipient_state(message_id, rcpt_index, status, reason, attempts) "
        "VALUES('m1', 0, 'deferred', '4.4.1 refused', 2);";
    ASSERT_EQ(sqlite3_exec(raw, old_schema, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  auto db = StateDb::open(path, true);
  auto s = db->load("m1").at(0);
  EXPECT_EQ(s.status, RecipientStatus::Deferred);
  EXPECT_EQ(s.attempts, 2u);
  EXPECT_EQ(s.remote_mta, "");
  s.remote_mta = "mx[192.0.2.1]:25";
  db->apply({{"m1", 0, s}});
  EXPECT_EQ(db->load("m1").at(0).remote_mta, "mx[192.0.2.1]:25");
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
