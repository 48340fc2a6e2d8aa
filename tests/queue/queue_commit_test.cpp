#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "queue/runtime.hpp"
#include "queue_test_support.hpp"
#include "spool/queue_file.hpp"

namespace mailroom::queue {
namespace {

using testing::FakeDirectory;
using testing::TempDir;

Envelope make_envelope(Queue& q, const std::string& rcpt = "kate@example.test") {
  Envelope e;
  e.id = q.new_message_id();
  e.sender = "chris@contoso.com";
  e.recipients.push_back({rcpt, "rfc822;" + rcpt, smtp::kNotifyDefault});
  e.client_ip = "127.0.0.1";
  e.client_helo = "contoso.com";
  e.body_type = "7BIT";
  return e;
}

std::error_code commit_sync(Queue& q, std::unique_ptr<IncomingMessage> m) {
  std::promise<std::error_code> p;
  auto f = p.get_future();
  q.commit(std::move(m), [&](std::error_code ec) { p.set_value(ec); });
  return f.get();
}

RuntimeOptions no_delivery() {
  RuntimeOptions o;
  o.background_delivery = false;
  o.outbound_delivery = false;
  return o;
}

TEST(QueueCommit, CommittedMessageIsRecoveredByAFreshRuntime) {
  TempDir dir;
  auto cfg = testing::test_config(dir.path());
  auto directory = std::make_shared<FakeDirectory>();
  std::string id;
  {
    auto rt = QueueRuntime::start(cfg, directory, no_delivery());
    auto m = rt->queue().begin(make_envelope(rt->queue()));
    id = m->envelope.id;
    ASSERT_FALSE(m->append("Subject: hi\r\n\r\nbody\r\n"));
    ASSERT_FALSE(commit_sync(rt->queue(), std::move(m)));
  }
  auto rt = QueueRuntime::start(cfg, directory, no_delivery());
  EXPECT_EQ(rt->queued_messages(), 1u);
  spool::QueuePaths paths(cfg.queue_dir());
  spool::QueueFileInfo info;
  ASSERT_FALSE(spool::read_queue_file_info(paths.message_file(id), info));
  EXPECT_EQ(info.envelope.id, id);
  EXPECT_EQ(info.envelope.sender, "chris@contoso.com");
  ASSERT_EQ(info.envelope.recipients.size(), 1u);
  EXPECT_EQ(info.envelope.recipients[0].orcpt, "rfc822;kate@example.test");
  EXPECT_GT(info.envelope.arrival_unix, 0);
  std::string body;
  ASSERT_FALSE(spool::read_body(paths.message_file(id), info.body_bytes, body));
  EXPECT_EQ(body, "Subject: hi\r\n\r\nbody\r\n");
}

TEST(QueueCommit, HalfWrittenFilesAreRemovedAtStart) {
  TempDir dir;
  auto cfg = testing::test_config(dir.path());
  auto directory = std::make_shared<FakeDirectory>();
  spool::QueuePaths paths(cfg.queue_dir());
  ASSERT_FALSE(spool::ensure_queue_dirs(paths));
  std::ofstream(paths.incoming_file("0000000000000000000ab")) << "partial message";
  // A file in messages/ whose footer does not match (cannot happen through commit) is skipped.
  std::ofstream(paths.message_file("0000000000000000000cd")) << "garbage without footer";
  auto rt = QueueRuntime::start(cfg, directory, no_delivery());
  EXPECT_TRUE(testing::list_dir(paths.incoming_dir()).empty());
  EXPECT_EQ(rt->queued_messages(), 0u);
}

TEST(QueueCommit, AbandonedMessageLeavesNothingBehind) {
  TempDir dir;
  auto cfg = testing::test_config(dir.path());
  RuntimeOptions o = no_delivery();
  o.memory_limit_bytes = 16;
  auto rt = QueueRuntime::start(cfg, std::make_shared<FakeDirectory>(), o);
  {
    auto m = rt->queue().begin(make_envelope(rt->queue()));
    ASSERT_FALSE(m->append(std::string(100, 'x')));  // spilled to incoming/
    EXPECT_EQ(testing::list_dir(spool::QueuePaths(cfg.queue_dir()).incoming_dir()).size(), 1u);
  }
  EXPECT_TRUE(testing::list_dir(spool::QueuePaths(cfg.queue_dir()).incoming_dir()).empty());
}

TEST(QueueCommit, SpilledMessageCommitsWithoutCopyAndKeepsBytes) {
  TempDir dir;
  auto cfg = testing::test_config(dir.path());
  RuntimeOptions o = no_delivery();
  o.memory_limit_bytes = 64;
  auto rt = QueueRuntime::start(cfg, std::make_shared<FakeDirectory>(), o);
  auto m = rt->queue().begin(make_envelope(rt->queue()));
  auto id = m->envelope.id;
  std::string expected = "Subject: big\r\n\r\n";
  ASSERT_FALSE(m->append(expected));
  for (int i = 0; i < 1000; ++i) {
    std::string line = "line " + std::to_string(i) + "\r\n";
    expected += line;
    ASSERT_FALSE(m->append(line));
  }
  EXPECT_EQ(m->size(), expected.size());
  ASSERT_FALSE(commit_sync(rt->queue(), std::move(m)));
  spool::QueuePaths paths(cfg.queue_dir());
  spool::QueueFileInfo info;
  ASSERT_FALSE(spool::read_queue_file_info(paths.message_file(id), info));
  std::string body;
  ASSERT_FALSE(spool::read_body(paths.message_file(id), info.body_bytes, body));
  EXPECT_EQ(body, expected);
  EXPECT_TRUE(testing::list_dir(paths.incoming_dir()).empty());
}

TEST(QueueCommit, ManyConcurrentCommitsShareBatchesAndAllSurvive) {
  TempDir dir;
  auto cfg = testing::test_config(dir.path());
  auto directory = std::make_shared<FakeDirectory>();
  constexpr int kThreads = 8, kPerThread = 40;
  {
    auto rt = QueueRuntime::start(cfg, directory, no_delivery());
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kPerThread; ++i) {
          auto m = rt->queue().begin(make_envelope(rt->queue()));
          (void)m->append("Subject: x\r\n\r\nbody\r\n");
          if (!commit_sync(rt->queue(), std::move(m))) ++ok;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), kThreads * kPerThread);
  }
  auto rt = QueueRuntime::start(cfg, directory, no_delivery());
  EXPECT_EQ(rt->queued_messages(), static_cast<std::size_t>(kThreads * kPerThread));
}

// wait_for_commits() (a marker) returns only once every commit submitted before it has completed
// and reached the scheduler, however the commits were split into batches.
TEST(QueueCommit, MarkerWaitsForEveryEarlierCommit) {
  TempDir dir;
  auto cfg = testing::test_config(dir.path());
  auto rt = QueueRuntime::start(cfg, std::make_shared<FakeDirectory>(), no_delivery());
  for (int round = 0; round < 20; ++round) {
    constexpr int kMessages = 12;
    std::atomic<int> completed{0};
    for (int i = 0; i < kMessages; ++i) {
      auto m = rt->queue().begin(make_envelope(rt->queue()));
      (void)m->append("Subject: x\r\n\r\n" + std::string(static_cast<std::size_t>(i) * 500, 'b') +
                      "\r\n");
      rt->queue().commit(std::move(m), [&](std::error_code ec) {
        EXPECT_FALSE(ec);
        ++completed;
      });
    }
    rt->wait_for_commits();
    EXPECT_EQ(completed.load(), kMessages) << "round " << round;
    EXPECT_EQ(rt->queued_messages(), static_cast<std::size_t>((round + 1) * kMessages));
  }
}

TEST(QueueCommit, SecondRuntimeOnSameDataDirIsRefused) {
  TempDir dir;
  auto cfg = testing::test_config(dir.path());
  auto rt = QueueRuntime::start(cfg, std::make_shared<FakeDirectory>(), no_delivery());
  EXPECT_THROW(QueueRuntime::start(cfg, std::make_shared<FakeDirectory>(), no_delivery()),
               std::runtime_error);
}

TEST(QueueCommit, SpillFailureIsReportedSticksAndFailsTheCommit) {
  TempDir dir;
  auto cfg = testing::test_config(dir.path());
  RuntimeOptions o = no_delivery();
  o.memory_limit_bytes = 8;
  auto rt = QueueRuntime::start(cfg, std::make_shared<FakeDirectory>(), o);
  spool::QueuePaths paths(cfg.queue_dir());
  auto m = rt->queue().begin(make_envelope(rt->queue()));
  // Something already occupies the spill file's name: the exclusive create fails.
  std::filesystem::create_symlink("/dev/full", paths.incoming_file(m->envelope.id));
  auto ec = m->append(std::string(100, 'x'));
  EXPECT_TRUE(ec);
  EXPECT_EQ(m->append("more"), ec);  // the error sticks
  EXPECT_TRUE(commit_sync(rt->queue(), std::move(m)));
  EXPECT_TRUE(spool::list_committed_ids(paths).empty());
}

TEST(QueueCommit, CommitWriteFailureCompletesWithErrorAndOthersStillCommit) {
  TempDir dir;
  auto cfg = testing::test_config(dir.path());
  auto rt = QueueRuntime::start(cfg, std::make_shared<FakeDirectory>(), no_delivery());
  spool::QueuePaths paths(cfg.queue_dir());
  auto bad = rt->queue().begin(make_envelope(rt->queue()));
  auto good = rt->queue().begin(make_envelope(rt->queue()));
  ASSERT_FALSE(bad->append("Subject: a\r\n\r\nx\r\n"));
  ASSERT_FALSE(good->append("Subject: b\r\n\r\ny\r\n"));
  std::filesystem::create_symlink("/dev/full", paths.incoming_file(bad->envelope.id));
  auto good_id = good->envelope.id;
  EXPECT_TRUE(commit_sync(rt->queue(), std::move(bad)));
  EXPECT_FALSE(commit_sync(rt->queue(), std::move(good)));
  EXPECT_EQ(spool::list_committed_ids(paths), std::vector<std::string>{good_id});
}

}  // namespace
}  // namespace mailroom::queue
